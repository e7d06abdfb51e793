#include <kanari/kanari.h>

int main(int argc, char** argv) { return kanari_cli_main(argc, argv); }
