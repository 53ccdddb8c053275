// fileio: files and directories in the root filesystem.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(void) {
	mkdir("/tmp/d", 0755);
	int fd = open("/tmp/d/a.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	for (int i = 0; i < 1000; i++) dprintf(fd, "line %d\n", i);
	close(fd);
	struct stat st;
	stat("/tmp/d/a.txt", &st);
	printf("size=%lld mode=%o\n", (long long)st.st_size, st.st_mode & 07777);
	rename("/tmp/d/a.txt", "/tmp/d/b.txt");
	symlink("b.txt", "/tmp/d/link");
	char buf[64];
	ssize_t n = readlink("/tmp/d/link", buf, sizeof buf - 1);
	buf[n < 0 ? 0 : n] = 0;
	printf("readlink=%s\n", buf);
	fd = open("/tmp/d/link", O_RDONLY);
	lseek(fd, -8, SEEK_END);
	n = read(fd, buf, 8);
	buf[n] = 0;
	printf("tail=%s", buf);
	close(fd);
	DIR *d = opendir("/tmp/d");
	char *names[16];
	int k = 0;
	struct dirent *e;
	while ((e = readdir(d)) && k < 16) names[k++] = strdup(e->d_name);
	closedir(d);
	qsort(names, k, sizeof names[0], cmp);
	for (int i = 0; i < k; i++) printf("entry %s\n", names[i]);
	printf("unlink=%d\n", unlink("/tmp/d/b.txt"));
	printf("open missing=%d errno=%d\n", open("/tmp/d/b.txt", O_RDONLY), errno);
	printf("rmdir nonempty=%d errno=%d\n", rmdir("/tmp/d"), errno);
	unlink("/tmp/d/link");
	printf("rmdir=%d\n", rmdir("/tmp/d"));
	return 0;
}
