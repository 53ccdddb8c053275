// unmapread: one thread reads a page in a loop while the main thread
// unmaps it; the reader must die of SIGSEGV (status 139), never read stale
// data after munmap returned.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile long *page;
static atomic_int started, unmapped;

static void *reader(void *arg) {
	long sum = 0;
	atomic_store(&started, 1);
	for (;;) {
		int was_unmapped = atomic_load(&unmapped);
		sum += page[0];
		if (was_unmapped) {
			printf("read stale data after munmap: %ld\n", sum);
			fflush(stdout);
			_exit(2);
		}
	}
	return 0;
}

int main(void) {
	page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	page[0] = 1;
	pthread_t t;
	pthread_create(&t, 0, reader, 0);
	while (!atomic_load(&started)) ;
	usleep(20000);
	munmap((void *)page, 4096);
	atomic_store(&unmapped, 1);
	pthread_join(t, 0);
	return 0;
}
