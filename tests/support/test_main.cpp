// Catch2's main for every loa test executable. A run whose filter matches no test fails: ctest
// hands each test's name to its executable, and a name CMake mangles (a '[' glues the list of
// discovered tests into one entry) must not pass as "No tests ran".
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
    Catch::Session session;
    if (int rc = session.applyCommandLine(argc, argv); rc != 0) {
        return rc;
    }
    auto& config = session.configData();
    const bool listing =
        config.listTests || config.listTestNamesOnly || config.listTags || config.listReporters;
    if (!listing) {
        config.warnings =
            static_cast<Catch::WarnAbout::What>(config.warnings | Catch::WarnAbout::NoTests);
    }
    return session.run();
}
