// The gosv vDSO: the clock and CPU-number calls an app can make without
// entering the kernel (Linux's vDSO, vdso(7)). Built by gen.go (go
// generate) into vdso.so, which the kernel maps into every app and names in
// AT_SYSINFO_EHDR. It reads only its own read-only data (struct vvar,
// filled in by the kernel when it maps the image) and the TSC, so it runs
// entirely in ring 3; whatever it cannot answer (CPU-time clocks, an
// unknown clock id, a CPU without RDTSCP) goes to the real system call.
#include <stdint.h>

struct timespec { long tv_sec, tv_nsec; };
struct timeval { long tv_sec, tv_usec; };
struct timezone { int tz_minuteswest, tz_dsttime; };

// The kernel's clock (kernel/machine/time.go): monotonic ns since boot =
// (TSC - boot_tsc) * mult >> 32; Unix time = wall_boot_ns + monotonic.
// The layout is shared with vdso.go (Params), which writes it.
struct vvar {
	uint64_t magic;        // "gosvvvar" while unpatched; checked by vdso.go
	uint64_t boot_tsc;     // TSC at monotonic 0
	uint64_t mult;         // ns per TSC tick, 32.32 fixed point
	int64_t wall_boot_ns;  // Unix time in ns at monotonic 0
	uint64_t flags;        // VVAR_RDTSCP: TSC_AUX holds the CPU number
};
#define VVAR_RDTSCP 1

// volatile: the values are patched into the image after it is built, so
// the compiler must not fold the initial ones.
__attribute__((section(".vvar"), used, aligned(64)))
const volatile struct vvar gosv_vvar = {.magic = 0x7261767676736f67ull};

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define CLOCK_TAI 11

#define SYS_gettimeofday 96
#define SYS_time 201
#define SYS_clock_gettime 228
#define SYS_clock_getres 229
#define SYS_getcpu 309

static inline long sys2(long n, long a, long b) {
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}

static inline long sys3(long n, long a, long b, long c) {
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

// mono returns monotonic ns. RDTSC is not ordered against earlier loads;
// the clock only has to be monotonic per thread, which it is.
static inline uint64_t mono(void) {
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t d = ((uint64_t)hi << 32 | lo) - gosv_vvar.boot_tsc;
	return (uint64_t)(((unsigned __int128)d * gosv_vvar.mult) >> 32);
}

static inline int64_t nsfor(int clk, int *ok) {
	*ok = 1;
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_TAI:
		return gosv_vvar.wall_boot_ns + (int64_t)mono();
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
		return (int64_t)mono();
	}
	*ok = 0;
	return 0;
}

int __vdso_clock_gettime(int clk, struct timespec *ts) {
	int ok;
	int64_t ns = nsfor(clk, &ok);
	if (!ok) return (int)sys2(SYS_clock_gettime, clk, (long)ts);
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	return 0;
}

int __vdso_gettimeofday(struct timeval *tv, struct timezone *tz) {
	if (tv) {
		int64_t ns = gosv_vvar.wall_boot_ns + (int64_t)mono();
		tv->tv_sec = ns / 1000000000;
		tv->tv_usec = ns % 1000000000 / 1000;
	}
	if (tz) {
		tz->tz_minuteswest = 0;
		tz->tz_dsttime = 0;
	}
	return 0;
}

long __vdso_time(long *t) {
	long s = (gosv_vvar.wall_boot_ns + (int64_t)mono()) / 1000000000;
	if (t) *t = s;
	return s;
}

// clock_getres: 1 ns for the TSC clocks, as the kernel's clock_getres
// reports for them; the coarse clocks and anything else ask the kernel.
int __vdso_clock_getres(int clk, struct timespec *res) {
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_BOOTTIME:
	case CLOCK_TAI:
		if (res) {
			res->tv_sec = 0;
			res->tv_nsec = 1;
		}
		return 0;
	}
	return (int)sys2(SYS_clock_getres, clk, (long)res);
}

// getcpu: RDTSCP returns IA32_TSC_AUX, which the kernel sets to the CPU
// number on each CPU. There is one NUMA node.
long __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused) {
	if (!(gosv_vvar.flags & VVAR_RDTSCP)) return sys3(SYS_getcpu, (long)cpu, (long)node, (long)unused);
	uint32_t lo, hi, aux;
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	if (cpu) *cpu = aux & 0xfff;
	if (node) *node = 0;
	return 0;
}

// The unprefixed names, as Linux's vDSO also exports them.
int clock_gettime(int, struct timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval *, struct timezone *) __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
int clock_getres(int, struct timespec *) __attribute__((weak, alias("__vdso_clock_getres")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
