// epoll for FlowServer's HTTPServer (Glibc's Swift module does not include <sys/epoll.h>).
// struct epoll_event is packed on x86-64, so it never crosses into Swift: these wrappers take
// and give plain ints.
#include <sys/epoll.h>

static const unsigned int FLOW_EPOLLIN = EPOLLIN;
static const unsigned int FLOW_EPOLLOUT = EPOLLOUT;
static const unsigned int FLOW_EPOLLERR = EPOLLERR;
static const unsigned int FLOW_EPOLLHUP = EPOLLHUP;
static const int FLOW_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
static const int FLOW_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
static const int FLOW_EPOLL_CTL_DEL = EPOLL_CTL_DEL;

static inline int flow_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int flow_epoll_ctl(int epfd, int op, int fd, unsigned int events) {
    struct epoll_event e;
    e.events = events;
    e.data.u64 = 0;
    e.data.fd = fd;
    return epoll_ctl(epfd, op, fd, &e);
}

/// Waits for at most `max` (at most 256) events; the descriptors and their events in the arrays.
static inline int flow_epoll_wait(int epfd, int *fds, unsigned int *events, int max, int timeout) {
    struct epoll_event ready[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, ready, max, timeout);
    for (int i = 0; i < n; i++) {
        fds[i] = ready[i].data.fd;
        events[i] = ready[i].events;
    }
    return n;
}
