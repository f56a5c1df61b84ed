// Test helper: assertions on the custos::Error a call throws.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "platform/errors/error.h"

namespace custos::testing_err {

// Passes when f throws custos::Error with the code (and field, when given).
template <class F>
::testing::AssertionResult throws_code(F&& f, ErrorCode code,
                                       std::optional<std::string> field = std::nullopt) {
  try {
    f();
  } catch (const Error& e) {
    if (e.code() != code)
      return ::testing::AssertionFailure() << "threw " << error_info(e.code()).code << " ("
                                           << e.detail() << "), expected " << error_info(code).code;
    if (field && e.field() != *field)
      return ::testing::AssertionFailure()
             << "field \"" << e.field() << "\", expected \"" << *field << "\"";
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "nothing thrown, expected " << error_info(code).code;
}

// The detail of the Error f throws ("(nothing thrown)" otherwise).
template <class F>
std::string detail_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.detail();
  }
  return "(nothing thrown)";
}

}  // namespace custos::testing_err
