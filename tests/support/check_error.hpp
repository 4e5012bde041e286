#pragma once
// check_error<E>(f, words): f() throws an E whose message contains words; another exception, or
// none, is a failed check.
#include <exception>
#include <string>

#include <catch2/catch.hpp>

template <class E, class F>
void check_error(F&& f, const std::string& words) {
    try {
        f();
    } catch (const E& e) {
        CHECK_THAT(std::string(e.what()), Catch::Contains(words));
        return;
    } catch (const std::exception& e) {
        FAIL_CHECK("another exception: " << e.what());
        return;
    }
    FAIL_CHECK("no exception; expected one saying: " << words);
}
