"""threadlock's benchmark suite: the coordinator against etcd's own lock API, the raw etcd
2-write cycle and a Redis lock, on the same etcd in one run (``python bench/run.py --help``).
Not part of the test suite; tests/test_bench.py only checks that it still runs."""
