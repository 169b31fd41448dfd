"""The API executor: runs REST APIs defined through the API Gateway control plane."""
