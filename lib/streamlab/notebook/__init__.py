"""Running the notebooks and showing what they did: each notebook's outcome, the run report
(`index.html`), the JUnit file for CI, and the JupyterLab set-up that keeps sources clean."""
