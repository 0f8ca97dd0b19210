"""Which container DBs are this node's, which rows are this node's, and how
far each DB replica has been handled.  Knows nothing about remote stores."""
