instance_count = 2
size           = "large"
