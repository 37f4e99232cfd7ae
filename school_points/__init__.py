"""School Points: the domain of a training school's WeChat points programme."""
