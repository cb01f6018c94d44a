// The libzmq C API, as Debian's libzmq3-dev installs it. Not through pkg-config:
// its -isystem flags are refused by SwiftPM. Only the ZeroMQ module imports this.
#ifndef ORZO_CZEROMQ_SHIM_H
#define ORZO_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

// zmq_msg_t is an opaque 64-byte union; these helpers keep Swift away from its layout.
static inline int c_zmq_msg_more(zmq_msg_t *msg) { return zmq_msg_more(msg); }

// epoll, for waiting on ZMQ_FD without blocking Swift's cooperative threads.
// struct epoll_event is packed on x86_64; these keep its layout on the C side.
static inline int c_zmq_epoll_ctl(int epfd, int op, int fd, int oneshot) {
    struct epoll_event event = {0};
    event.events = EPOLLIN | (oneshot ? EPOLLONESHOT : 0);
    event.data.fd = fd;
    return epoll_ctl(epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &event);
}

// Waits and writes the ready descriptors to fds; returns their count, or -1.
static inline int c_zmq_epoll_wait(int epfd, int *fds, int max, int timeout_ms) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int count = epoll_wait(epfd, events, max, timeout_ms);
    for (int i = 0; i < count; i++) fds[i] = events[i].data.fd;
    return count;
}

static inline int c_zmq_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
static inline int c_zmq_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
#endif
