// Linux calls the in-sandbox exec agent and its client need that Swift cannot make directly:
// descriptors passed over a Unix socket (the CMSG_* macros), raw syscalls glibc's headers do not
// give Swift (pidfd_open, prctl), the variadic ioctl, and _GNU_SOURCE functions. Implemented in
// shim.c; this header includes nothing Swift's Glibc module also declares.
#ifndef CEXECBOXAGENT_H
#define CEXECBOXAGENT_H

#include <stddef.h>

/// The most descriptors one message carries (stdin, stdout, stderr; or a pidfd and a pty master).
#define EXECBOX_AGENT_MAX_FDS 3

/// The most descriptors any message of the agent or the monitor's keeper carries.
#define EXECBOX_MAX_PASSED_FDS 12

/// Sends `length` bytes (all of them, or fails; on a blocking socket) with `count` descriptors
/// (at most EXECBOX_MAX_PASSED_FDS) attached to the first byte. Returns 0, or -1 with errno set.
int execbox_send_with_fds(int socket, const void *bytes, size_t length, const int *fds, int count);

/// One `recvmsg` of at most `capacity` bytes; descriptors that came with it (close-on-exec) are
/// stored in `fds` (up to EXECBOX_AGENT_MAX_FDS; any beyond are closed) and counted in `count`.
/// Returns the byte count (0 at end of file), or -1 with errno set. A message whose descriptors were
/// cut short (MSG_CTRUNC) closes the ones that arrived and fails with EPROTO.
long execbox_receive_with_fds(int socket, void *bytes, size_t capacity, int *fds, int *count);

/// `execbox_receive_with_fds` keeping up to `limit` descriptors (at most EXECBOX_MAX_PASSED_FDS;
/// `fds` has room for `limit`), with `flags` for `recvmsg` (e.g. MSG_DONTWAIT).
long execbox_receive_with_fds_limit(int socket, void *bytes, size_t capacity, int *fds, int limit, int *count, int flags);

int execbox_pidfd_open(int pid);

/// The user id of a Unix socket's peer (SO_PEERCRED), or -1 with errno set.
long execbox_peer_uid(int socket);

/// splice(2) between two descriptors at their current offsets; `nonblocking` adds SPLICE_F_NONBLOCK.
long execbox_splice(int in, int out, size_t length, int nonblocking);

/// tee(2): duplicates up to `length` bytes of pipe `in` into pipe `out` without consuming them.
long execbox_tee(int in, int out, size_t length);

/// FIONREAD: the bytes a pipe holds, or -1 with errno set.
int execbox_readable_bytes(int fd);

/// F_SETPIPE_SZ; returns the new capacity, or -1 with errno set.
int execbox_set_pipe_size(int fd, int size);

int execbox_become_child_subreaper(void);

int execbox_set_window_size(int fd, unsigned short rows, unsigned short columns);

/// Opens a pty master (close-on-exec, not the caller's controlling terminal), unlocked, with its
/// slave's path in `name`. Returns the master, or -1 with errno set.
int execbox_open_pty(char *name, size_t capacity);

/// posix_spawn_file_actions_addchdir_np (glibc 2.29) on a `posix_spawn_file_actions_t`.
int execbox_spawn_add_chdir(void *actions, const char *path);

/// Opens `name` in `directory` as an O_PATH descriptor without following a final symlink.
int execbox_open_path_nofollow(int directory, const char *name);

/// Opens `path` as an O_PATH directory descriptor.
int execbox_open_path_directory(const char *path);

/// Blocks every signal but those the kernel raises for a fault of the caller (SIGSEGV, SIGBUS,
/// SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS) and returns a non-blocking, close-on-exec signalfd for
/// them; -1 with errno set on failure.
int execbox_block_signals(void);

/// The next signal waiting on a signalfd, 0 if none, -1 on an error.
int execbox_next_signal(int signalfd);

#endif
