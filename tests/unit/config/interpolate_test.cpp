#include "config/detail/interpolate.hpp"

#include <map>
#include <string>

#include <gtest/gtest.h>

namespace chatsync::config::detail {
namespace {

EnvLookup FakeEnv() {
    static const std::map<std::string, std::string> kVars{
        {"HOST", "db.local"}, {"PORT", "5432"}, {"EMPTY", ""}, {"_UNDER9", "u"}};
    return [](const std::string& name) -> std::optional<std::string> {
        const auto it = kVars.find(name);
        if (it == kVars.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

struct Case {
    const char* input;
    const char* output;
    bool used_env;
};

TEST(Interpolate, ReplacesReferences) {
    const Case cases[] = {
        {"plain text", "plain text", false},
        {"", "", false},
        {"${HOST}", "db.local", true},
        {"postgresql://${HOST}:${PORT}/x", "postgresql://db.local:5432/x", true},
        {"${_UNDER9}", "u", true},
        {"${MISSING:-fallback}", "fallback", true},
        {"${EMPTY:-fallback}", "fallback", true},
        {"${HOST:-fallback}", "db.local", true},
        {"${MISSING:-}", "", true},
        {"${MISSING:-a:b-c}", "a:b-c", true},
        {"${EMPTY}", "", true},
        {"$${HOST}", "${HOST}", false},
        {"$$${HOST}", "$${HOST}", false},  // a lone "$" stays, then "$${" is the escape
        {"cost $5, $HOST, a$", "cost $5, $HOST, a$", false},
        {"{{ config.token }}", "{{ config.token }}", false},
        {"$${", "${", false},
    };
    for (const auto& c : cases) {
        const Interpolated r = Interpolate(c.input, FakeEnv());
        EXPECT_EQ(r.error, "") << c.input;
        EXPECT_EQ(r.text, c.output) << c.input;
        EXPECT_EQ(r.used_env, c.used_env) << c.input;
    }
}

TEST(Interpolate, ReportsBadReferencesWithoutValues) {
    const std::pair<const char*, const char*> cases[] = {
        {"${MISSING}",
         "environment variable MISSING is not set (use ${MISSING:-default} to give a default)"},
        {"x ${HOST", "unterminated '${' (write '$${' for a literal '${')"},
        {"${}", "bad variable reference '${}' (expected ${NAME} or ${NAME:-default})"},
        {"${1ABC}", "bad variable reference '${1ABC}' (expected ${NAME} or ${NAME:-default})"},
        {"${HOST-x}", "bad variable reference '${HOST-x}' (expected ${NAME} or ${NAME:-default})"},
        {"${HO ST}", "bad variable reference '${HO ST}' (expected ${NAME} or ${NAME:-default})"},
    };
    for (const auto& [input, error] : cases) {
        EXPECT_EQ(Interpolate(input, FakeEnv()).error, error) << input;
    }
}

TEST(Interpolate, ReadsTheProcessEnvironment) {
    setenv("CHATSYNC_TEST_INTERPOLATE", "from-env", 1);
    EXPECT_EQ(Interpolate("${CHATSYNC_TEST_INTERPOLATE}", ProcessEnvironment()).text, "from-env");
    unsetenv("CHATSYNC_TEST_INTERPOLATE");
    EXPECT_FALSE(Interpolate("${CHATSYNC_TEST_INTERPOLATE}", ProcessEnvironment()).error.empty());
}

}  // namespace
}  // namespace chatsync::config::detail
