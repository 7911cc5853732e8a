/* Test driver for wisp_verify.c (tests/c-verify.test.ts feeds it): one
 * case per stdin line, one answer per stdout line.
 *   sha512 <hex message>                          -> hex digest
 *   ed25519 <hex key> <hex signature> <hex message> -> 1 or 0
 *   file <hex key> <hex 68-byte signature> <installed> <hex file> -> code [version] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wisp_verify.h"

static size_t unhex(const char *s, uint8_t *out) {
  size_t n = strlen(s) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(s + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
  return n;
}

int main(void) {
  static char line[1 << 20];
  static uint8_t a[1 << 18], b[1 << 18], c[1 << 18];
  while (fgets(line, sizeof line, stdin)) {
    char *kind = strtok(line, " \n"), *f1 = strtok(NULL, " \n"), *f2 = strtok(NULL, " \n"), *f3 = strtok(NULL, " \n"), *f4 = strtok(NULL, " \n");
    if (!kind) continue;
    if (!strcmp(kind, "sha512")) {
      size_t n = f1 ? unhex(f1, a) : 0;
      wisp_sha512 h;
      uint8_t d[64];
      wisp_sha512_init(&h);
      wisp_sha512_update(&h, a, n / 2); /* in two pieces, to exercise streaming */
      wisp_sha512_update(&h, a + n / 2, n - n / 2);
      wisp_sha512_final(&h, d);
      for (int i = 0; i < 64; i++) printf("%02x", d[i]);
      printf("\n");
    } else if (!strcmp(kind, "ed25519")) {
      unhex(f1, a);
      unhex(f2, b);
      size_t n = f3 ? unhex(f3, c) : 0;
      printf("%d\n", wisp_ed25519_verify(b, c, n, a));
    } else if (!strcmp(kind, "file")) {
      unhex(f1, a);
      size_t sn = unhex(f2, b), n = f4 ? unhex(f4, c) : 0;
      uint32_t version = 0;
      int code = wisp_verify_file(c, n, b, sn, a, atoll(f3), &version);
      if (code == WISP_VERIFY_OK) printf("0 %u\n", version); else printf("%d\n", code);
    }
    fflush(stdout);
  }
  return 0;
}
