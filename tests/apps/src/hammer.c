// hammer: 16 threads hammer a mutex-protected counter, a condition-variable
// handoff and an atomic counter; every total must be exact.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#define N 16
#define ITERS 5000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long locked;
static atomic_long atomic_count;
static long turn; // which thread may take the next handoff step
static long handoffs;

static void *worker(void *arg) {
	long id = (long)arg;
	for (int i = 0; i < ITERS; i++) {
		pthread_mutex_lock(&mu);
		locked++;
		pthread_mutex_unlock(&mu);
		atomic_fetch_add(&atomic_count, 1);
	}
	// Round-robin handoff: each thread waits for its turn 20 times.
	for (int r = 0; r < 20; r++) {
		pthread_mutex_lock(&mu);
		while (turn % N != id) pthread_cond_wait(&cv, &mu);
		turn++;
		handoffs++;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	return 0;
}

int main(void) {
	pthread_t th[N];
	for (long i = 0; i < N; i++) pthread_create(&th[i], 0, worker, (void *)i);
	for (int i = 0; i < N; i++) pthread_join(th[i], 0);
	printf("locked=%ld atomic=%ld handoffs=%ld\n", locked, (long)atomic_count, handoffs);
	return locked == N * ITERS && atomic_count == N * ITERS && handoffs == N * 20 ? 0 : 1;
}
