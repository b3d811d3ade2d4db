/*
 * embed: turns files into a C table of struct embed_file.
 * usage: embed TABLE_NAME BASE_DIR FILE... > out.c
 * Names are stored relative to BASE_DIR; files are sorted by the caller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: embed TABLE BASE_DIR FILE...\n");
		return 2;
	}
	const char *table = argv[1], *base = argv[2];
	size_t blen = strlen(base);
	printf("#include \"core/embed.h\"\n\n");
	for (int i = 3; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (f == NULL) {
			perror(argv[i]);
			return 1;
		}
		printf("static const unsigned char %s_%d[] = {", table, i);
		int c;
		size_t n = 0;
		while ((c = fgetc(f)) != EOF)
			printf("%s%d,", (n++ % 24) ? "" : "\n", c);
		if (ferror(f)) {
			perror(argv[i]);
			return 1;
		}
		fclose(f);
		printf("0};\n");
	}
	printf("\nconst struct embed_file %s[] = {\n", table);
	for (int i = 3; i < argc; i++) {
		const char *name = argv[i];
		if (strncmp(name, base, blen) == 0 && name[blen] == '/')
			name += blen + 1;
		printf("\t{ \"%s\", %s_%d, sizeof(%s_%d) - 1 },\n", name, table, i, table, i);
	}
	printf("\t{ NULL, NULL, 0 }\n};\n");
	return 0;
}
