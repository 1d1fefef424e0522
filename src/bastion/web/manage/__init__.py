"""Managing a project: the management page, yanking, deletion and the project's history."""
