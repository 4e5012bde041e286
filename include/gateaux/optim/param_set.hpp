#pragma once
// param_set lives in core (core/param_set.hpp), below the readers and checkpoints that store it;
// this header keeps the optimizers' include path.
#include "../core/param_set.hpp"
