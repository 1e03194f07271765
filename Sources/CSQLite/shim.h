// The system's SQLite (Debian: libsqlite3-dev), for FlowServer's SQLiteStore.
#include <sqlite3.h>
