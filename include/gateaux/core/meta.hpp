#pragma once
// Plain type lists for graph bookkeeping. Membership uses the __is_same builtin so that a
// lookup instantiates no templates: the schedule of a 16-layer Hessian-vector graph stays cheap.
#include <cstddef>

namespace gateaux::meta {

template <class... T>
struct list {
    static constexpr std::size_t size = sizeof...(T);
};

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

template <class T, class... Ts>
constexpr std::size_t index_of(list<Ts...>) {
    constexpr bool hits[] = {false, __is_same(T, Ts)...};
    for (std::size_t i = 1; i < sizeof...(Ts) + 1; ++i)
        if (hits[i]) return i - 1;
    return npos;
}

template <class L, class T>
inline constexpr bool contains = index_of<T>(L{}) != npos;

template <class L, class T>
struct push_back;
template <class... Ts, class T>
struct push_back<list<Ts...>, T> {
    using type = list<Ts..., T>;
};

template <class L, template <class> class F>
struct transform;
template <class... Ts, template <class> class F>
struct transform<list<Ts...>, F> {
    using type = list<typename F<Ts>::type...>;
};

}  // namespace gateaux::meta
