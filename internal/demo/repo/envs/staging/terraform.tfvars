instance_count = 1
size           = "small"
