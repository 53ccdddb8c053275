// vdso: the clock calls go through the vDSO. Prints whether the auxiliary
// vector names a vDSO, the Unix time, and checks that CLOCK_MONOTONIC read
// alternately by two threads (on different CPUs under -c 2) never goes
// back, and that getcpu answers a CPU number below the CPU count.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long ns(clockid_t c) {
	struct timespec t;
	clock_gettime(c, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

enum { ROUNDS = 300 };
static atomic_long last;   // the latest monotonic reading, published
static atomic_int turn;    // which thread reads next
static atomic_int backward, badcpu;
static atomic_int cpus;    // bit mask of the CPUs getcpu reported
static long ncpu;

static void *reader(void *arg) {
	int me = (int)(long)arg;
	for (int i = 0; i < ROUNDS; i++) {
		while (atomic_load(&turn) != me) sched_yield();
		long prev = atomic_load(&last), now = ns(CLOCK_MONOTONIC);
		if (now < prev) atomic_fetch_add(&backward, 1);
		atomic_store(&last, now);
		int cpu = sched_getcpu();
		if (cpu < 0 || cpu >= ncpu) atomic_fetch_add(&badcpu, 1);
		else atomic_fetch_or(&cpus, 1 << cpu);
		atomic_store(&turn, 1 - me);
	}
	return 0;
}

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	printf("vdso %s\n", getauxval(AT_SYSINFO_EHDR) ? "yes" : "no");
	long t0 = ns(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i++) ns(CLOCK_MONOTONIC);
	long t1 = ns(CLOCK_MONOTONIC);
	printf("monotonic advanced %s\n", t1 > t0 ? "yes" : "no");
	struct timeval tv;
	gettimeofday(&tv, 0);
	long rt = ns(CLOCK_REALTIME) / 1000000000L, tm = time(0);
	// The three wall clocks agree to within a second.
	printf("wall clocks agree %s\n", labs(rt - tv.tv_sec) <= 1 && labs(rt - tm) <= 1 ? "yes" : "no");
	pthread_t a, b;
	pthread_create(&a, 0, reader, (void *)0);
	pthread_create(&b, 0, reader, (void *)1);
	pthread_join(a, 0);
	pthread_join(b, 0);
	printf("backward %d badcpu %d\n", atomic_load(&backward), atomic_load(&badcpu));
	fprintf(stderr, "unix %ld cpus %#x\n", rt, atomic_load(&cpus));
	return 0;
}
