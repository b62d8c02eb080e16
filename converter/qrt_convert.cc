// qrt-convert IN.onnx -o OUT.qrt [options]: ONNX -> .qrt (convert_cli.h).
#include "convert_cli.h"

int main(int argc, char** argv) { return qrt::convert::qrt_convert_main(argc, argv); }
