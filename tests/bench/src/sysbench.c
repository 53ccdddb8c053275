// sysbench: micro-benchmarks of the system-call interface, run unchanged in
// gosv and in a Linux guest (make bench). Each row is timed with
// clock_gettime(CLOCK_MONOTONIC) and printed as "row NAME NS" (nanoseconds
// per operation). With --init the program is the Linux guest's /init: it
// prints the guest's boot time first and powers the guest off at the end.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// From <linux/futex.h>, which musl-gcc does not see.
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void row(const char *name, double ns) { printf("row %s %.1f\n", name, ns); }

static long scale = 1; // iteration multiplier (argv)

static void bench_getppid(void) {
	long n = 20000 * scale;
	double t = now();
	for (long i = 0; i < n; i++) syscall(SYS_getppid);
	row("getppid", (now() - t) / n);
}

static void bench_clock(void) {
	long n = 20000 * scale;
	struct timespec ts;
	double t = now();
	for (long i = 0; i < n; i++) clock_gettime(CLOCK_MONOTONIC, &ts);
	row("clock_gettime", (now() - t) / n);
}

static void bench_pagefault(void) {
	long pages = 1024 * scale;
	size_t len = pages * 4096;
	char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) { perror("mmap"); exit(1); }
	double t = now();
	for (long i = 0; i < pages; i++) p[i * 4096] = 1;
	row("pagefault", (now() - t) / pages);
	munmap(p, len);
}

static atomic_int turn; // futex word: whose turn it is (0 main, 1 partner)
static long futex_rounds;

static void futex_wait(int val) {
	while (atomic_load(&turn) == val) syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, val, 0, 0, 0);
}

static void futex_pass(int to) {
	atomic_store(&turn, to);
	syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

static void *futex_partner(void *arg) {
	(void)arg;
	for (long i = 0; i < futex_rounds; i++) {
		futex_wait(0); // wait while it is main's turn
		futex_pass(0);
	}
	return 0;
}

static void bench_futex(void) {
	futex_rounds = 2000 * scale;
	pthread_t th;
	atomic_store(&turn, 0);
	double t = now();
	pthread_create(&th, 0, futex_partner, 0);
	for (long i = 0; i < futex_rounds; i++) {
		futex_pass(1);
		futex_wait(1); // wait while it is the partner's turn
	}
	pthread_join(th, 0);
	row("futex_pingpong", (now() - t) / futex_rounds);
}

enum { PIPE_CHUNK = 64 << 10 };
static int pfd[2];
static long pipe_chunks;

static void *pipe_writer(void *arg) {
	(void)arg;
	static char buf[PIPE_CHUNK];
	memset(buf, 'x', sizeof buf);
	for (long i = 0; i < pipe_chunks; i++)
		for (size_t off = 0; off < sizeof buf;) {
			ssize_t w = write(pfd[1], buf + off, sizeof buf - off);
			if (w <= 0) { perror("write"); exit(1); }
			off += w;
		}
	close(pfd[1]);
	return 0;
}

static void bench_pipe(void) {
	pipe_chunks = 64 * scale;
	static char buf[PIPE_CHUNK];
	if (pipe(pfd) != 0) { perror("pipe"); exit(1); }
	pthread_t th;
	double t = now();
	pthread_create(&th, 0, pipe_writer, 0);
	long total = 0;
	for (;;) {
		ssize_t r = read(pfd[0], buf, sizeof buf);
		if (r < 0) { perror("read"); exit(1); }
		if (r == 0) break;
		total += r;
	}
	pthread_join(th, 0);
	close(pfd[0]);
	if (total != pipe_chunks * (long)PIPE_CHUNK) { fprintf(stderr, "pipe: short\n"); exit(1); }
	// ns per 64 KiB moved through the pipe
	row("pipe_64KiB", (now() - t) / pipe_chunks);
}

static void bench_memcpy(void) {
	enum { LEN = 1 << 20 };
	long n = 20 * scale;
	char *a = malloc(LEN), *b = malloc(LEN);
	memset(a, 1, LEN);
	memset(b, 2, LEN);
	double t = now();
	for (long i = 0; i < n; i++) {
		memcpy(i & 1 ? a : b, i & 1 ? b : a, LEN);
		__asm__ volatile("" ::: "memory");
	}
	row("memcpy_1MiB", (now() - t) / n);
	free(a);
	free(b);
}

int main(int argc, char **argv) {
	int init = 0;
	const char *only = 0; // --only=getppid: just the null syscall (for --syscall-profile)
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--init") == 0) init = 1;
		else if (strncmp(argv[i], "--only=", 7) == 0) only = argv[i] + 7;
		else scale = atol(argv[i]);
	}
	if (scale < 1) scale = 1;
	setvbuf(stdout, 0, _IOLBF, 0);
	if (init) {
		struct timespec b;
		clock_gettime(CLOCK_BOOTTIME, &b);
		row("boot", b.tv_sec * 1e9 + b.tv_nsec);
	}
	bench_getppid();
	if (only && strcmp(only, "getppid") == 0) return 0;
	bench_clock();
	bench_pagefault();
	bench_futex();
	bench_pipe();
	bench_memcpy();
	printf("done\n");
	if (init) {
		sync();
		reboot(RB_POWER_OFF);
	}
	return 0;
}
