// hello: arguments, environment, stdout/stderr and the exit status.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv, char **envp) {
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
	for (char **e = envp; *e; e++) printf("env %s\n", *e);
	char cwd[256];
	printf("cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
	fprintf(stderr, "this goes to stderr\n");
	char *p = malloc(1 << 20);
	memset(p, 7, 1 << 20);
	long sum = 0;
	for (int i = 0; i < 1 << 20; i += 4096) sum += p[i];
	printf("sum=%ld\n", sum);
	return argc > 1 ? atoi(argv[1]) : 0;
}
