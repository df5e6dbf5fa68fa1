// latency_fs: a FUSE passthrough that waits before answering, to stand in
// for a file system where each metadata operation is a round trip (NFS, SMB,
// sshfs, WSL2's 9p, a container's virtiofs or gRPC FUSE bind mount).
//
//   latency_fs SOURCE MOUNTPOINT [--delay-us N] [--stats FILE] [FUSE options]
//
// Every request answered from SOURCE first sleeps N microseconds (default 0)
// in the operations a network file system sends to its server: getattr (the
// kernel's lookup and stat), opendir, readdir, open, read, unlink, rmdir, and
// the ones that create (mkdir, create, rename). MOUNTPOINT may be SOURCE
// itself: SOURCE is opened before the mount and every request is answered
// relative to that descriptor, so the mount hides the tree it serves.
// --stats FILE: FILE holds, at all times, the most of those requests that
// were waiting at once (what a client's concurrency achieved).
//
// Run it with `-o entry_timeout=0,attr_timeout=0,negative_timeout=0` to keep
// the kernel from answering lookups from its own cache (as NFS's
// close-to-open checks and `actimeo=0` do), and `-o max_threads=64` so that
// as many requests as a client sends wait at once. The shape follows
// libfuse's passthrough example (example/passthrough.c), with *at() calls.
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static int g_root = -1;
static long g_delay_us;
static int g_stats = -1;
static atomic_int g_in_flight;
static int g_most_in_flight;
static pthread_mutex_t g_stats_lock = PTHREAD_MUTEX_INITIALIZER;

static void note_in_flight(int now) {
  if (g_stats == -1) return;
  pthread_mutex_lock(&g_stats_lock);
  if (now > g_most_in_flight) {
    g_most_in_flight = now;
    char text[32];
    int n = snprintf(text, sizeof text, "%d\n", now);
    if (pwrite(g_stats, text, (size_t)n, 0) != n) perror("latency_fs: --stats");
  }
  pthread_mutex_unlock(&g_stats_lock);
}

static void wait_round_trip(void) {
  int now = atomic_fetch_add(&g_in_flight, 1) + 1;
  note_in_flight(now);
  struct timespec ts = {g_delay_us / 1000000, (g_delay_us % 1000000) * 1000};
  while (g_delay_us > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
  atomic_fetch_sub(&g_in_flight, 1);
}

// "/a/b" -> "a/b"; "/" -> ".".
static const char* rel(const char* path) {
  while (*path == '/') ++path;
  return *path ? path : ".";
}

static int result(int rc) {
  return rc == -1 ? -errno : 0;
}

static void* fs_init(struct fuse_conn_info* conn, struct fuse_config* cfg) {
  (void)conn;
  cfg->use_ino = 1;  // the source's inode numbers: a walker's (dev, ino) checks see real ones
  return NULL;
}

static int fs_getattr(const char* path, struct stat* st, struct fuse_file_info* fi) {
  wait_round_trip();
  if (fi) return result(fstat((int)fi->fh, st));
  return result(fstatat(g_root, rel(path), st, AT_SYMLINK_NOFOLLOW));
}

static int fs_access(const char* path, int mask) {
  return result(faccessat(g_root, rel(path), mask, AT_SYMLINK_NOFOLLOW));
}

static int fs_readlink(const char* path, char* buf, size_t size) {
  ssize_t n = readlinkat(g_root, rel(path), buf, size - 1);
  if (n == -1) return -errno;
  buf[n] = '\0';
  return 0;
}

static int fs_opendir(const char* path, struct fuse_file_info* fi) {
  wait_round_trip();
  int fd = openat(g_root, rel(path), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd == -1) return -errno;
  DIR* dir = fdopendir(fd);
  if (!dir) {
    int err = errno;
    close(fd);
    return -err;
  }
  fi->fh = (uint64_t)(uintptr_t)dir;
  return 0;
}

// One call lists the whole directory (offset 0 to the filler: the library
// buffers it and pages it to the kernel), as one READDIR round trip each.
static int fs_readdir(const char* path, void* buf, fuse_fill_dir_t filler, off_t offset,
                      struct fuse_file_info* fi, enum fuse_readdir_flags flags) {
  (void)path;
  (void)offset;
  (void)flags;
  wait_round_trip();
  DIR* dir = (DIR*)(uintptr_t)fi->fh;
  rewinddir(dir);
  struct dirent* e;
  while ((e = readdir(dir)) != NULL) {
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_ino = e->d_ino;
    st.st_mode = (mode_t)(DTTOIF(e->d_type));
    if (filler(buf, e->d_name, &st, 0, 0)) break;
  }
  return 0;
}

static int fs_releasedir(const char* path, struct fuse_file_info* fi) {
  (void)path;
  closedir((DIR*)(uintptr_t)fi->fh);
  return 0;
}

static int fs_mkdir(const char* path, mode_t mode) {
  wait_round_trip();
  return result(mkdirat(g_root, rel(path), mode));
}

static int fs_unlink(const char* path) {
  wait_round_trip();
  return result(unlinkat(g_root, rel(path), 0));
}

static int fs_rmdir(const char* path) {
  wait_round_trip();
  return result(unlinkat(g_root, rel(path), AT_REMOVEDIR));
}

static int fs_symlink(const char* target, const char* path) {
  return result(symlinkat(target, g_root, rel(path)));
}

static int fs_rename(const char* from, const char* to, unsigned int flags) {
  wait_round_trip();
  return result(renameat2(g_root, rel(from), g_root, rel(to), flags));
}

static int fs_link(const char* from, const char* to) {
  return result(linkat(g_root, rel(from), g_root, rel(to), 0));
}

static int fs_chmod(const char* path, mode_t mode, struct fuse_file_info* fi) {
  if (fi) return result(fchmod((int)fi->fh, mode));
  return result(fchmodat(g_root, rel(path), mode, 0));
}

static int fs_chown(const char* path, uid_t uid, gid_t gid, struct fuse_file_info* fi) {
  if (fi) return result(fchown((int)fi->fh, uid, gid));
  return result(fchownat(g_root, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW));
}

static int fs_truncate(const char* path, off_t size, struct fuse_file_info* fi) {
  if (fi) return result(ftruncate((int)fi->fh, size));
  int fd = openat(g_root, rel(path), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd == -1) return -errno;
  int rc = result(ftruncate(fd, size));
  close(fd);
  return rc;
}

static int fs_utimens(const char* path, const struct timespec ts[2], struct fuse_file_info* fi) {
  if (fi) return result(futimens((int)fi->fh, ts));
  return result(utimensat(g_root, rel(path), ts, AT_SYMLINK_NOFOLLOW));
}

static int fs_create(const char* path, mode_t mode, struct fuse_file_info* fi) {
  wait_round_trip();
  int fd = openat(g_root, rel(path), (fi->flags & ~O_NOFOLLOW) | O_CREAT | O_CLOEXEC, mode);
  if (fd == -1) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}

static int fs_open(const char* path, struct fuse_file_info* fi) {
  wait_round_trip();
  int fd = openat(g_root, rel(path), fi->flags | O_CLOEXEC);
  if (fd == -1) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}

static int fs_read(const char* path, char* buf, size_t size, off_t offset,
                   struct fuse_file_info* fi) {
  (void)path;
  wait_round_trip();
  ssize_t n = pread((int)fi->fh, buf, size, offset);
  return n == -1 ? -errno : (int)n;
}

static int fs_write(const char* path, const char* buf, size_t size, off_t offset,
                    struct fuse_file_info* fi) {
  (void)path;
  ssize_t n = pwrite((int)fi->fh, buf, size, offset);
  return n == -1 ? -errno : (int)n;
}

static int fs_statfs(const char* path, struct statvfs* st) {
  (void)path;
  return result(fstatvfs(g_root, st));
}

static int fs_release(const char* path, struct fuse_file_info* fi) {
  (void)path;
  close((int)fi->fh);
  return 0;
}

static int fs_fsync(const char* path, int datasync, struct fuse_file_info* fi) {
  (void)path;
  return result(datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh));
}

static const struct fuse_operations k_ops = {
    .getattr = fs_getattr,
    .readlink = fs_readlink,
    .mkdir = fs_mkdir,
    .unlink = fs_unlink,
    .rmdir = fs_rmdir,
    .symlink = fs_symlink,
    .rename = fs_rename,
    .link = fs_link,
    .chmod = fs_chmod,
    .chown = fs_chown,
    .truncate = fs_truncate,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .statfs = fs_statfs,
    .release = fs_release,
    .fsync = fs_fsync,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .releasedir = fs_releasedir,
    .init = fs_init,
    .access = fs_access,
    .create = fs_create,
    .utimens = fs_utimens,
};

static int usage(const char* why) {
  fprintf(stderr,
          "latency_fs: %s\nusage: latency_fs SOURCE MOUNTPOINT [--delay-us N] [--stats FILE] [options]\n",
          why);
  return 2;
}

int main(int argc, char** argv) {
  if (argc < 3) return usage("needs SOURCE and MOUNTPOINT");
  g_root = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (g_root == -1) {
    fprintf(stderr, "latency_fs: %s: %s\n", argv[1], strerror(errno));
    return 2;
  }
  // FUSE sees: latency_fs MOUNTPOINT [options], with --delay-us taken out.
  char** fuse_argv = calloc((size_t)argc + 1, sizeof *fuse_argv);
  if (!fuse_argv) return 1;
  int fuse_argc = 0;
  fuse_argv[fuse_argc++] = argv[0];
  fuse_argv[fuse_argc++] = argv[2];
  for (int i = 3; i < argc; ++i) {
    if (strcmp(argv[i], "--delay-us") == 0) {
      if (i + 1 >= argc) return usage("--delay-us needs a number of microseconds");
      char* end = NULL;
      g_delay_us = strtol(argv[++i], &end, 10);
      if (*end != '\0' || g_delay_us < 0) return usage("--delay-us: not a number of microseconds");
      continue;
    }
    if (strcmp(argv[i], "--stats") == 0) {
      if (i + 1 >= argc) return usage("--stats needs a file");
      g_stats = open(argv[++i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (g_stats == -1) return usage("--stats: the file cannot be written");
      continue;
    }
    fuse_argv[fuse_argc++] = argv[i];
  }
  umask(0);
  int rc = fuse_main(fuse_argc, fuse_argv, &k_ops, NULL);
  free(fuse_argv);
  return rc;
}
