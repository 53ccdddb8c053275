// crash: writes through a null pointer on purpose.
#include <stdio.h>

int main(void) {
	printf("about to crash\n");
	fflush(stdout);
	volatile int *p = 0;
	*p = 42;
	printf("not reached\n");
	return 0;
}
