"""ftm on AWS: the Batch worker (the containers' command), the Batch executor, and later Step Functions."""
