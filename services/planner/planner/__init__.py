"""planner: turns a user's rehab log into a safely progressed routine, and says why."""
