// CdpPage's mouse and keyboard: real input events through the Input domain,
// so focus, :hover and default actions (Tab moving the focus, Enter
// submitting a form) happen as they would for a person.
#include <iterator>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "broker/common/status_macros.h"
#include "tests/support/cdp_page.h"

namespace hart::testing::cdp {
namespace {

struct KeyDefinition {
  absl::string_view name;  // as PressKey takes it
  std::string_view key;   // KeyboardEvent.key
  std::string_view code;  // KeyboardEvent.code
  int key_code;           // the Windows virtual key code Chromium expects
  std::string_view text;  // what the key types, if anything
};

constexpr KeyDefinition kKeys[] = {
    {"Tab", "Tab", "Tab", 9, ""},
    {"Enter", "Enter", "Enter", 13, "\r"},
    {"Space", " ", "Space", 32, " "},
    {"Escape", "Escape", "Escape", 27, ""},
    {"Backspace", "Backspace", "Backspace", 8, ""},
    {"Delete", "Delete", "Delete", 46, ""},
    {"ArrowUp", "ArrowUp", "ArrowUp", 38, ""},
    {"ArrowDown", "ArrowDown", "ArrowDown", 40, ""},
    {"ArrowLeft", "ArrowLeft", "ArrowLeft", 37, ""},
    {"ArrowRight", "ArrowRight", "ArrowRight", 39, ""},
    {"Home", "Home", "Home", 36, ""},
    {"End", "End", "End", 35, ""},
    {"PageUp", "PageUp", "PageUp", 33, ""},
    {"PageDown", "PageDown", "PageDown", 34, ""},
};

// Input.dispatchKeyEvent's modifier bits.
struct Modifier {
  absl::string_view prefix;
  int bit;
};
constexpr Modifier kModifiers[] = {{"Alt+", 1}, {"Control+", 2}, {"Meta+", 4}, {"Shift+", 8}};

// A JavaScript string literal (JSON's is one).
std::string JsString(const std::string& text) { return ToJson(JsonString(text)); }

// Why the element `selector` names cannot be used, from a script's
// answer: NOT_FOUND when nothing matches.
absl::Status ElementProblem(const std::string& selector, const std::string& problem) {
  if (problem == "no element matches") {
    return absl::NotFoundError(absl::StrCat("no element matches `", selector, "`"));
  }
  return absl::FailedPreconditionError(absl::StrCat("`", selector, "`: ", problem));
}

}  // namespace

absl::StatusOr<std::pair<double, double>> CdpPage::ClickPoint(const std::string& selector) {
  HART_ASSIGN_OR_RETURN(answer, Evaluate(absl::Substitute(R"js((() => {
    const element = document.querySelector($0);
    if (!element) return {problem: 'no element matches'};
    element.scrollIntoView({block: 'center', inline: 'center'});
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return {problem: 'it is not visible'};
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    const hit = document.elementFromPoint(x, y);
    if (hit !== element && !element.contains(hit)) {
      return {problem: 'it is covered by ' + (hit ? hit.outerHTML.slice(0, 120) : 'nothing')};
    }
    return {x, y};
  })())js",
                                                          JsString(selector))));
  const JsonObject& found = answer.struct_value();
  if (const std::string problem = GetString(found, "problem"); !problem.empty()) {
    return ElementProblem(selector, problem);
  }
  return std::make_pair(GetNumber(found, "x"), GetNumber(found, "y"));
}

absl::Status CdpPage::Click(const std::string& selector) {
  HART_ASSIGN_OR_RETURN(point, ClickPoint(selector));
  for (const char* type : {"mouseMoved", "mousePressed", "mouseReleased"}) {
    JsonObject event = Object({{"type", JsonString(type)},
                               {"x", JsonNumber(point.first)},
                               {"y", JsonNumber(point.second)}});
    if (std::string_view(type) != "mouseMoved") {
      auto& fields = *event.mutable_fields();
      fields["button"] = JsonString("left");
      fields["buttons"] = JsonNumber(1);
      fields["clickCount"] = JsonNumber(1);
    }
    HART_RETURN_IF_ERROR(Call("Input.dispatchMouseEvent", event).status());
  }
  return absl::OkStatus();
}

absl::Status CdpPage::Type(const std::string& selector, const std::string& text) {
  HART_ASSIGN_OR_RETURN(problem, Evaluate(absl::Substitute(R"js((() => {
    const element = document.querySelector($0);
    if (!element) return 'no element matches';
    element.focus();
    return document.activeElement === element ? '' : 'it cannot take the focus';
  })())js",
                                                           JsString(selector))));
  if (!problem.string_value().empty()) return ElementProblem(selector, problem.string_value());
  return Call("Input.insertText", Object({{"text", JsonString(text)}})).status();
}

absl::Status CdpPage::PressKey(const std::string& key) {
  absl::string_view name = key;
  int modifiers = 0;
  for (bool found = true; found;) {
    found = false;
    for (const Modifier& modifier : kModifiers) {
      if (absl::ConsumePrefix(&name, modifier.prefix)) {
        modifiers |= modifier.bit;
        found = true;
      }
    }
  }
  const KeyDefinition* definition = nullptr;
  for (const KeyDefinition& candidate : kKeys) {
    if (candidate.name == name) definition = &candidate;
  }
  if (definition == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("PressKey does not know \"", key, "\"; see cdp_page.h for its keys"));
  }
  // A key that types something is a "keyDown" (it also makes a keypress);
  // one that types nothing, or is pressed with Control, Alt or Meta, a
  // "rawKeyDown".
  const bool types = !definition->text.empty() && (modifiers & ~8) == 0;
  for (const char* type : {types ? "keyDown" : "rawKeyDown", "keyUp"}) {
    JsonObject event = Object({{"type", JsonString(type)},
                               {"modifiers", JsonNumber(modifiers)},
                               {"key", JsonString(definition->key)},
                               {"code", JsonString(definition->code)},
                               {"windowsVirtualKeyCode", JsonNumber(definition->key_code)},
                               {"nativeVirtualKeyCode", JsonNumber(definition->key_code)}});
    if (types && std::string_view(type) == "keyDown") {
      (*event.mutable_fields())["text"] = JsonString(definition->text);
      (*event.mutable_fields())["unmodifiedText"] = JsonString(definition->text);
    }
    HART_RETURN_IF_ERROR(Call("Input.dispatchKeyEvent", event).status());
  }
  return absl::OkStatus();
}

}  // namespace hart::testing::cdp
