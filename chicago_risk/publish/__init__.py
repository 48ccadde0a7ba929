"""What readers get: the map layers published as Parquet partitions behind atomic manifests."""
