/* The floor under one kanari invocation on this machine: a C program that
 * links libcrypto (as kanari must, for SHA-256 and Ed25519) and, with
 * "sha256 TEXT", computes one SHA-256 through OpenSSL 3's EVP interface, as
 * `route --key` does. scripts/bench.sh times it next to kanari.
 * Built twice: kanari_startup_floor links libcrypto alone;
 * kanari_startup_floor_linked links every library kanari links, each loaded
 * at start as kanari's are, the floor scripts/bench_startup.sh measures
 * commands against. */
#include <openssl/evp.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "sha256") == 0) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD* md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (md == NULL || !EVP_Digest(argv[2], strlen(argv[2]), out, &len, md, NULL))
      return 1;
    EVP_MD_free(md);
    for (unsigned int i = 0; i < len; ++i)
      printf("%02x", out[i]);
    printf("\n");
  }
  return 0;
}
