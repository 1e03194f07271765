// The system's libpq (Debian: `apt-get install libpq-dev`, which puts the header at
// /usr/include/postgresql/libpq-fe.h and the library at /usr/lib/<triple>/libpq.so).
// libpq-fe.h includes its neighbours ("postgres_ext.h") with quotes, found beside it.
#include <postgresql/libpq-fe.h>
