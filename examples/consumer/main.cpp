// Uses the installed gateaux package (see CMakeLists.txt beside this file).
#include <gateaux/core/blas_info.hpp>

#include <iostream>

int main() {
    std::cout << "gateaux consumer: BLAS core " << gateaux::blas_core() << '\n';
}
