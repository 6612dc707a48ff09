// The two languages everything a person reads is given in: Vietnamese first, English second.
#pragma once

namespace loa::controller {

enum class Language { vi, en };

}  // namespace loa::controller
