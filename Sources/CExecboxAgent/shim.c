#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "CExecboxAgent.h"

/// Sends `length` bytes (all of them, or fails; on a blocking socket) with `count` descriptors
/// attached to the first byte. Returns 0, or -1 with errno set.
int execbox_send_with_fds(int socket, const void *bytes, size_t length, const int *fds, int count) {
    if (count < 0 || count > EXECBOX_MAX_PASSED_FDS || length == 0) {
        errno = EINVAL;
        return -1;
    }
    union {
        char buffer[CMSG_SPACE(sizeof(int) * EXECBOX_MAX_PASSED_FDS)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    size_t sent = 0;
    while (sent < length) {
        struct iovec vector = {.iov_base = (char *)bytes + sent, .iov_len = length - sent};
        struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1};
        if (sent == 0 && count > 0) {
            message.msg_control = control.buffer;
            message.msg_controllen = CMSG_SPACE(sizeof(int) * count);
            struct cmsghdr *header = CMSG_FIRSTHDR(&message);
            header->cmsg_level = SOL_SOCKET;
            header->cmsg_type = SCM_RIGHTS;
            header->cmsg_len = CMSG_LEN(sizeof(int) * count);
            memcpy(CMSG_DATA(header), fds, sizeof(int) * count);
        }
        ssize_t result = sendmsg(socket, &message, MSG_NOSIGNAL);
        if (result < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        sent += (size_t)result;
    }
    return 0;
}

/// One `recvmsg` of at most `capacity` bytes; descriptors that came with it (close-on-exec) are
/// stored in `fds` (up to EXECBOX_AGENT_MAX_FDS; any beyond are closed) and counted in `count`.
/// Returns the byte count (0 at end of file), or -1 with errno set. A message whose descriptors were
/// cut short (MSG_CTRUNC) closes the ones that arrived and fails with EPROTO.
long execbox_receive_with_fds(int socket, void *bytes, size_t capacity, int *fds, int *count) {
    return execbox_receive_with_fds_limit(socket, bytes, capacity, fds, EXECBOX_AGENT_MAX_FDS, count, 0);
}

long execbox_receive_with_fds_limit(int socket, void *bytes, size_t capacity, int *fds, int limit, int *count, int flags) {
    union {
        char buffer[CMSG_SPACE(sizeof(int) * EXECBOX_MAX_PASSED_FDS)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    if (limit < 0 || limit > EXECBOX_MAX_PASSED_FDS) limit = EXECBOX_MAX_PASSED_FDS;
    struct iovec vector = {.iov_base = bytes, .iov_len = capacity};
    struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1};
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof(control.buffer);
    *count = 0;
    ssize_t result;
    do {
        result = recvmsg(socket, &message, MSG_CMSG_CLOEXEC | flags);
    } while (result < 0 && errno == EINTR);
    if (result < 0) return -1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int carried = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int index = 0; index < carried; index++) {
            int fd;
            memcpy(&fd, CMSG_DATA(header) + sizeof(int) * index, sizeof(int));
            if (*count < limit) {
                fds[(*count)++] = fd;
            } else {
                close(fd);
            }
        }
    }
    if (message.msg_flags & MSG_CTRUNC) {
        for (int index = 0; index < *count; index++) close(fds[index]);
        *count = 0;
        errno = EPROTO;
        return -1;
    }
    return result;
}

long execbox_splice(int in, int out, size_t length, int nonblocking) {
    ssize_t result;
    do {
        result = splice(in, NULL, out, NULL, length, SPLICE_F_MOVE | (nonblocking ? SPLICE_F_NONBLOCK : 0));
    } while (result < 0 && errno == EINTR);
    return (long)result;
}

long execbox_tee(int in, int out, size_t length) {
    ssize_t result;
    do {
        result = tee(in, out, length, SPLICE_F_NONBLOCK);
    } while (result < 0 && errno == EINTR);
    return (long)result;
}

int execbox_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }

int execbox_readable_bytes(int fd) {
    int count = 0;
    return ioctl(fd, FIONREAD, &count) == 0 ? count : -1;
}

long execbox_peer_uid(int socket) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(socket, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    return (long)credentials.uid;
}

int execbox_pidfd_open(int pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int execbox_become_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int execbox_set_window_size(int fd, unsigned short rows, unsigned short columns) {
    struct winsize size = {.ws_row = rows, .ws_col = columns};
    return ioctl(fd, TIOCSWINSZ, &size);
}

int execbox_open_pty(char *name, size_t capacity) {
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -1;
    if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, name, capacity) != 0) {
        int saved = errno;
        close(master);
        errno = saved;
        return -1;
    }
    return master;
}

int execbox_spawn_add_chdir(void *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np((posix_spawn_file_actions_t *)actions, path);
}

int execbox_open_path_nofollow(int directory, const char *name) {
    return openat(directory, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

int execbox_open_path_directory(const char *path) { return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC); }

int execbox_block_signals(void) {
    sigset_t blocked;
    sigfillset(&blocked);
    const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
    for (size_t index = 0; index < sizeof(faults) / sizeof(faults[0]); index++) sigdelset(&blocked, faults[index]);
    if (sigprocmask(SIG_SETMASK, &blocked, NULL) != 0) return -1;
    return signalfd(-1, &blocked, SFD_CLOEXEC | SFD_NONBLOCK);
}

int execbox_next_signal(int fd) {
    struct signalfd_siginfo info;
    ssize_t count;
    do {
        count = read(fd, &info, sizeof(info));
    } while (count < 0 && errno == EINTR);
    if (count == (ssize_t)sizeof(info)) return (int)info.ssi_signo;
    if (count < 0 && errno == EAGAIN) return 0;
    return -1;
}
