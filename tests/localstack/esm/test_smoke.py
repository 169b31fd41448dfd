from esm_helpers import wait_for


def test_E1_records_are_delivered_in_order(pipeline_factory):
    pipe = pipeline_factory()
    pipe.mapping()
    for i in range(5):
        pipe.put(f"r{i}")
    ids = wait_for(lambda: len(pipe.delivered_ids()) >= 5 and pipe.delivered_ids(), what="5 records")
    assert ids == [f"r{i}" for i in range(5)]
