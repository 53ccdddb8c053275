// threads: 8 threads with a mutex, a condition variable and thread-local
// storage; every total is exact.
#include <pthread.h>
#include <stdio.h>

#define N 8
#define ITERS 20000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int arrived;
static __thread long tls_sum;

static void *worker(void *arg) {
	long id = (long)arg;
	for (int i = 0; i < ITERS; i++) {
		tls_sum += id;
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
	pthread_mutex_lock(&mu);
	arrived++;
	pthread_cond_broadcast(&cv);
	while (arrived < N) pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return (void *)tls_sum;
}

int main(void) {
	pthread_t th[N];
	for (long i = 0; i < N; i++) pthread_create(&th[i], NULL, worker, (void *)i);
	long total = 0;
	for (int i = 0; i < N; i++) {
		void *r;
		pthread_join(th[i], &r);
		printf("thread %d tls_sum=%ld\n", i, (long)r);
		total += (long)r;
	}
	printf("counter=%ld total=%ld main_tls=%ld\n", counter, total, tls_sum);
	return counter == (long)N * ITERS ? 0 : 1;
}
