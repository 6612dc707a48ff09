// What the player tests share.
#pragma once

#include <catch2/catch.hpp>

#include "loa/node/player.hpp"

namespace loa::test {

/// Prerolls `item` (the test stops if that fails) and plays it at once.
inline node::PlayResult preroll_and_play(node::Player& player, const node::PlayItem& item) {
    auto prerolled = player.preroll(item);
    INFO("preroll: " << (prerolled ? "ok" : prerolled.error()));
    REQUIRE(prerolled);
    return player.play();
}

}  // namespace loa::test
