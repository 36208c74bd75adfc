"""The architectures and the one builder: registered variants (data only), heads, CTC."""
