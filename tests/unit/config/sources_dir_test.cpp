// `sources_dir:`: sources kept one file each in a directory next to the config file.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace chatsync::config {
namespace {

namespace fs = std::filesystem;

/// A fresh directory under the system's temporary directory, removed with the object.
class ScratchDir final {
public:
    ScratchDir() {
        std::string pattern = (fs::temp_directory_path() / "chatsync-srcdir-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }

    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);  // best effort: a leftover temporary directory is harmless
    }

    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const fs::path& path() const noexcept { return path_; }

    /// Writes `content` to `name` (creating its directories) and returns the file's path.
    std::string Write(const std::string& name, const std::string& content) const {
        const fs::path file = path_ / name;
        fs::create_directories(file.parent_path());
        std::ofstream(file) << content;
        return file.string();
    }

private:
    fs::path path_;
};

/// A source of `name` with a one-resource inline connector, as the lines of a mapping.
std::string SourceYaml(const std::string& name) {
    return "name: " + name +
           "\n"
           "connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n";
}

/// The config file `chatsync.yaml` in `dir`: `sources_dir: accounts` after `sources`.
std::string MainFile(const ScratchDir& dir, const std::string& sources = "sources: []\n") {
    return dir.Write("chatsync.yaml", sources + "sources_dir: accounts\n");
}

std::vector<ConfigError> ErrorsOfFile(const std::string& path) {
    try {
        LoadFile(path);
    } catch (const ConfigErrors& e) {
        return e.errors();
    }
    ADD_FAILURE() << path << " loaded";
    return {};
}

std::vector<std::string> NamesOf(const Config& config) {
    std::vector<std::string> names;
    for (const auto& s : config.sources) {
        names.push_back(s.name);
    }
    return names;
}

TEST(SourcesDir, LoadsEveryYamlFileInNameOrderAfterTheConfigFilesOwnSources) {
    ScratchDir dir;
    const auto main = MainFile(
        dir,
        "sources:\n"
        "  - name: inline_one\n"
        "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n"
    );
    dir.Write("accounts/b.yaml", SourceYaml("bravo"));
    dir.Write("accounts/a.yml", SourceYaml("alpha"));
    // A file may hold a list of sources: they keep their order.
    dir.Write(
        "accounts/c.yaml",
        "- {name: charlie_two, connector: {resources: [{name: items, request: {path: /i}, "
        "primary_key: id}]}}\n"
        "- {name: charlie_one, connector: {resources: [{name: items, request: {path: /i}, "
        "primary_key: id}]}}\n"
    );
    // Not source files: hidden, another extension, an editor's backup, a subdirectory.
    dir.Write("accounts/.hidden.yaml", "not: [a source\n");
    dir.Write("accounts/README.txt", "not a source\n");
    dir.Write("accounts/b.yaml~", "not a source\n");
    dir.Write("accounts/archive/old.yaml", "not: [a source\n");

    const Config c = LoadFile(main);
    EXPECT_EQ(
        NamesOf(c),
        (std::vector<std::string>{"inline_one", "alpha", "bravo", "charlie_two", "charlie_one"})
    );
    // Each source knows its file and key path, for the messages about it after loading.
    ASSERT_EQ(c.sources.size(), 5U);
    EXPECT_EQ(c.sources[0].place.file, main);
    EXPECT_EQ(c.sources[0].place.key_path, "sources[0]");
    EXPECT_EQ(c.sources[1].place.file, (dir.path() / "accounts/a.yml").string());
    EXPECT_EQ(c.sources[1].place.key_path, "");
    EXPECT_EQ(c.sources[4].place.file, (dir.path() / "accounts/c.yaml").string());
    EXPECT_EQ(c.sources[4].place.key_path, "[1]");
}

TEST(SourcesDir, SummaryNamesTheFileOfEachSourceFromTheDirectory) {
    ScratchDir dir;
    const auto main = MainFile(
        dir,
        "sources:\n"
        "  - name: inline_one\n"
        "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n"
    );
    const auto a = dir.Write("accounts/a.yaml", SourceYaml("alpha"));
    const std::string summary = Summarize(LoadFile(main));
    EXPECT_NE(
        summary.find("  alpha: enabled, connector alpha (inline)\n    file: " + a + "\n"),
        std::string::npos
    ) << summary;
    EXPECT_EQ(summary.find("    file: " + main), std::string::npos) << summary;
}

TEST(SourcesDir, ASourceMovedToAnotherFileIsTheSameSource) {
    ScratchDir dir;
    dir.Write("accounts/a.yaml", SourceYaml("alpha"));
    const Config before = LoadFile(MainFile(dir));
    fs::rename(dir.path() / "accounts/a.yaml", dir.path() / "accounts/b.yaml");
    const Config after = LoadFile(MainFile(dir));
    ASSERT_EQ(after.sources.size(), 1U);
    EXPECT_NE(after.sources[0].place.file, before.sources[0].place.file);
    EXPECT_TRUE(after.sources[0] == before.sources[0]);  // a reload does not restart it
}

TEST(SourcesDir, EmptyDirectoryAddsNoSource) {
    ScratchDir dir;
    fs::create_directories(dir.path() / "accounts");
    EXPECT_TRUE(LoadFile(MainFile(dir)).sources.empty());
}

TEST(SourcesDir, MissingDirectoryIsReportedAtItsKey) {
    ScratchDir dir;
    const auto main = MainFile(dir);
    const auto errors = ErrorsOfFile(main);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].file(), main);
    EXPECT_EQ(errors[0].line(), 2);
    EXPECT_EQ(errors[0].key_path(), "sources_dir");
    EXPECT_NE(errors[0].message().find("no such directory"), std::string::npos) << errors[0].what();
    EXPECT_NE(errors[0].message().find((dir.path() / "accounts").string()), std::string::npos);
}

TEST(SourcesDir, AFileIsNotADirectory) {
    ScratchDir dir;
    dir.Write("accounts", SourceYaml("alpha"));
    const auto errors = ErrorsOfFile(MainFile(dir));
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_NE(errors[0].message().find("not a directory"), std::string::npos) << errors[0].what();
}

TEST(SourcesDir, ALinkThatLeadsNowhereIsReportedNotSkipped) {
    ScratchDir dir;
    dir.Write("accounts/a.yaml", SourceYaml("alpha"));
    fs::create_symlink(dir.path() / "gone.yaml", dir.path() / "accounts/b.yaml");
    dir.Write("elsewhere/c.yaml", SourceYaml("charlie"));
    fs::create_symlink(dir.path() / "elsewhere/c.yaml", dir.path() / "accounts/c.yaml");
    const auto errors = ErrorsOfFile(MainFile(dir));
    ASSERT_EQ(errors.size(), 1U) << ConfigErrors(errors).what();
    EXPECT_EQ(errors[0].file(), (dir.path() / "accounts/b.yaml").string());
    EXPECT_NE(errors[0].message().find("cannot read source file"), std::string::npos)
        << errors[0].what();

    fs::remove(dir.path() / "accounts/b.yaml");
    EXPECT_EQ(NamesOf(LoadFile(MainFile(dir))), (std::vector<std::string>{"alpha", "charlie"}));
}

TEST(SourcesDir, DuplicateNameNamesBothFilesAndLines) {
    ScratchDir dir;
    const auto main = MainFile(
        dir,
        "sources:\n"
        "  - name: alpha\n"
        "    connector: {resources: [{name: items, request: {path: /i}, primary_key: id}]}\n"
    );
    const auto a = dir.Write("accounts/a.yaml", "# the first account\n" + SourceYaml("alpha"));
    const auto b = dir.Write("accounts/b.yaml", SourceYaml("bravo"));
    const auto c = dir.Write("accounts/c.yaml", "\n\n" + SourceYaml("bravo"));
    const auto errors = ErrorsOfFile(main);
    ASSERT_EQ(errors.size(), 2U);
    EXPECT_EQ(errors[0].file(), a);
    EXPECT_EQ(errors[0].line(), 2);
    EXPECT_EQ(errors[0].key_path(), "name");
    EXPECT_EQ(errors[0].message(), "duplicate source name 'alpha' (first at " + main + ":2)");
    EXPECT_EQ(errors[1].file(), c);
    EXPECT_EQ(errors[1].line(), 3);
    EXPECT_EQ(errors[1].message(), "duplicate source name 'bravo' (first at " + b + ":1)");
}

TEST(SourcesDir, EveryBrokenFileIsReportedWithItsPlace) {
    ScratchDir dir;
    const auto main = MainFile(dir);
    const auto a = dir.Write("accounts/a.yaml", SourceYaml("alpha") + "schedul: {interval: 1m}\n");
    dir.Write("accounts/b.yaml", SourceYaml("bravo"));
    const auto c = dir.Write("accounts/c.yaml", "name: charlie\nconnector: [unclosed\n");
    const auto d = dir.Write("accounts/d.yaml", "");
    const auto e = dir.Write("accounts/e.yaml", "just words\n");
    const auto errors = ErrorsOfFile(main);
    ASSERT_EQ(errors.size(), 4U) << ConfigErrors(errors).what();
    EXPECT_EQ(errors[0].file(), a);
    EXPECT_EQ(errors[0].line(), 3);
    EXPECT_EQ(errors[0].column(), 1);
    EXPECT_NE(errors[0].message().find("did you mean 'schedule'"), std::string::npos)
        << errors[0].what();
    EXPECT_EQ(errors[1].file(), c);
    EXPECT_GE(errors[1].line(), 2);
    EXPECT_EQ(errors[2].file(), d);
    EXPECT_NE(errors[2].message().find("empty"), std::string::npos) << errors[2].what();
    EXPECT_EQ(errors[3].file(), e);
    EXPECT_EQ(errors[3].line(), 1);
    EXPECT_NE(errors[3].message().find("expected a source"), std::string::npos) << errors[3].what();
    // what() starts with "file:line:col", as the config file's errors do.
    EXPECT_EQ(std::string(errors[0].what()).rfind(a + ":3:1: ", 0), 0U) << errors[0].what();
}

TEST(SourcesDir, InterpolatesVariablesAndResolvesPathsFromTheDirectory) {
    ScratchDir dir;
    setenv("CHATSYNC_SRCDIR_TEST_TOKEN", "tok-from-env", 1);
    dir.Write(
        "accounts/specs/api.yaml",
        "name: api\n"
        "base_url: \"{{ config.base_url }}\"\n"
        "params:\n"
        "  base_url: {required: true}\n"
        "  token: {required: true, secret: true}\n"
        "auth: {type: bearer, token: \"{{ config.token }}\"}\n"
        "resources: [{name: items, request: {path: /i}, primary_key: id}]\n"
    );
    dir.Write("accounts/secrets/alpha_url", "https://alpha.example\n");
    dir.Write(
        "accounts/alpha.yaml",
        "name: alpha\n"
        "connector_file: specs/api.yaml\n"
        "config:\n"
        "  base_url_file: secrets/alpha_url\n"
        "  token: ${CHATSYNC_SRCDIR_TEST_TOKEN}\n"
    );
    const Config c = LoadFile(MainFile(dir));
    unsetenv("CHATSYNC_SRCDIR_TEST_TOKEN");
    ASSERT_EQ(c.sources.size(), 1U);
    EXPECT_EQ(c.sources[0].connector_origin, (dir.path() / "accounts/specs/api.yaml").string());
    EXPECT_EQ(c.sources[0].values.at("base_url"), "https://alpha.example");
    EXPECT_EQ(c.sources[0].values.at("token"), "tok-from-env");
}

TEST(SourcesDir, UnsetVariableIsReportedInItsFile) {
    ScratchDir dir;
    const auto a = dir.Write(
        "accounts/a.yaml", SourceYaml("alpha") + "enabled: ${CHATSYNC_SRCDIR_TEST_UNSET}\n"
    );
    const auto errors = ErrorsOfFile(MainFile(dir));
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].file(), a);
    EXPECT_EQ(errors[0].line(), 3);
    EXPECT_NE(errors[0].message().find("CHATSYNC_SRCDIR_TEST_UNSET"), std::string::npos)
        << errors[0].what();
}

/// A config file with `template` (indented two spaces) as its source_template.
std::string MainWithTemplate(const ScratchDir& dir, const std::string& template_yaml) {
    return dir.Write("chatsync.yaml", "sources_dir: accounts\nsource_template:\n" + template_yaml);
}

/// An inline spec with a required `base_url` and a `region` that defaults to "eu", for the
/// template tests (indented four spaces under `connector:`).
constexpr const char* kTemplateSpec =
    "  connector:\n"
    "    name: crm\n"
    "    base_url: \"{{ config.base_url }}\"\n"
    "    params:\n"
    "      base_url: {required: true}\n"
    "      region: {default: eu}\n"
    "    resources:\n"
    "      - {name: items, request: {path: /i}, primary_key: id}\n"
    "      - {name: notes, request: {path: /n}, primary_key: id}\n";

TEST(SourceTemplate, EachFileGetsTheKeysItDoesNotSetAndMappingsMergeKeyByKey) {
    ScratchDir dir;
    const auto main = MainWithTemplate(
        dir,
        std::string(kTemplateSpec) +
            "  config: {region: us}\n"
            "  schedule: {interval: 10m}\n"
            "  resources: {items: {interval: 2m}, notes: {enabled: false}}\n"
    );
    dir.Write("accounts/a.yaml", "name: alpha\nconfig: {base_url: https://a.example}\n");
    dir.Write(
        "accounts/b.yaml",
        "name: bravo\n"
        "config: {base_url: https://b.example, region: ap}\n"
        "resources: {notes: {enabled: true}}\n"
        "schedule: {interval: 1h}\n"
    );
    const Config c = LoadFile(main);
    ASSERT_EQ(c.sources.size(), 2U);
    const SourceConfig& a = c.sources[0];
    EXPECT_EQ(a.values.at("base_url"), "https://a.example");
    EXPECT_EQ(a.values.at("region"), "us");
    ASSERT_EQ(a.connector.resources.size(), 2U);
    EXPECT_EQ(a.connector.resources[0].schedule.interval, std::chrono::minutes(2));
    EXPECT_FALSE(a.connector.resources[1].enabled);
    const SourceConfig& b = c.sources[1];
    EXPECT_EQ(b.values.at("base_url"), "https://b.example");
    EXPECT_EQ(b.values.at("region"), "ap");
    ASSERT_EQ(b.connector.resources.size(), 2U);
    // resources merged: items keeps the template's interval, notes is switched back on and
    // takes the source's own schedule.
    EXPECT_EQ(b.connector.resources[0].schedule.interval, std::chrono::minutes(2));
    EXPECT_TRUE(b.connector.resources[1].enabled);
    EXPECT_EQ(b.connector.resources[1].schedule.interval, std::chrono::hours(1));
}

TEST(SourceTemplate, AnErrorInTheTemplateIsReportedOnceAtItsLineInTheConfigFile) {
    ScratchDir dir;
    const auto main = MainWithTemplate(dir, std::string(kTemplateSpec) + "  retri: {}\n");
    for (const char* name : {"alpha", "bravo", "charlie"}) {
        dir.Write(
            "accounts/" + std::string(name) + ".yaml",
            "name: " + std::string(name) + "\nconfig: {base_url: https://x.example}\n"
        );
    }
    const auto errors = ErrorsOfFile(main);
    ASSERT_EQ(errors.size(), 1U) << ConfigErrors(errors).what();
    EXPECT_EQ(errors[0].file(), main);
    EXPECT_EQ(errors[0].line(), 12);
    EXPECT_NE(errors[0].message().find("did you mean 'retry'"), std::string::npos)
        << errors[0].what();
}

TEST(SourceTemplate, AFilesOwnErrorsStayInTheFile) {
    ScratchDir dir;
    const auto main = MainWithTemplate(dir, kTemplateSpec);
    const auto a = dir.Write("accounts/a.yaml", "name: alpha\nconfig: {regoin: us}\n");
    const auto errors = ErrorsOfFile(main);
    ASSERT_EQ(errors.size(), 2U) << ConfigErrors(errors).what();
    for (const auto& e : errors) {
        EXPECT_EQ(e.file(), a) << e.what();
    }
    EXPECT_NE(std::string(ConfigErrors(errors).what()).find("base_url"), std::string::npos);
    EXPECT_NE(std::string(ConfigErrors(errors).what()).find("regoin"), std::string::npos);
}

TEST(SourceTemplate, KeepsADuplicateKeyOfTheFileReported) {
    ScratchDir dir;
    const auto main = MainWithTemplate(dir, kTemplateSpec + std::string("  enabled: true\n"));
    const auto a = dir.Write(
        "accounts/a.yaml",
        "name: alpha\nconfig: {base_url: https://x.example}\nenabled: false\nenabled: true\n"
    );
    const auto errors = ErrorsOfFile(main);
    ASSERT_EQ(errors.size(), 1U) << ConfigErrors(errors).what();
    EXPECT_EQ(errors[0].file(), a);
    EXPECT_EQ(errors[0].line(), 4);
    EXPECT_NE(errors[0].message().find("duplicate key 'enabled'"), std::string::npos)
        << errors[0].what();
}

TEST(SourceTemplate, IsRefusedWithANameOrWithoutSourcesDir) {
    ScratchDir dir;
    const auto named = dir.Write(
        "named.yaml", "sources_dir: accounts\nsource_template:\n  name: x\n  enabled: true\n"
    );
    fs::create_directories(dir.path() / "accounts");
    auto errors = ErrorsOfFile(named);
    ASSERT_EQ(errors.size(), 1U) << ConfigErrors(errors).what();
    EXPECT_EQ(errors[0].line(), 3);
    EXPECT_EQ(errors[0].key_path(), "source_template.name");

    const auto alone = dir.Write("alone.yaml", "sources: []\nsource_template: {enabled: true}\n");
    errors = ErrorsOfFile(alone);
    ASSERT_EQ(errors.size(), 1U) << ConfigErrors(errors).what();
    EXPECT_EQ(errors[0].line(), 2);
    EXPECT_NE(errors[0].message().find("sources_dir"), std::string::npos) << errors[0].what();
}

TEST(SourcesDir, TheManyAccountsExampleLoads) {
    ScratchDir secrets;
    for (const char* name : {"acme", "globex_sales", "globex_support"}) {
        secrets.Write(std::string(name) + ".password", "pw-" + std::string(name) + "\n");
    }
    setenv("CHATSYNC_DSN", "postgresql://chatsync@db.example.com/chatsync", 1);
    setenv("CHATSYNC_SECRETS_DIR", secrets.path().c_str(), 1);
    const Config c =
        LoadFile(std::string(CHATSYNC_SOURCE_DIR) + "/configs/many-accounts/chatsync.yaml");
    unsetenv("CHATSYNC_DSN");
    unsetenv("CHATSYNC_SECRETS_DIR");
    EXPECT_EQ(NamesOf(c), (std::vector<std::string>{"acme", "globex_sales", "globex_support"}));
    ASSERT_EQ(c.sources.size(), 3U);
    EXPECT_EQ(c.sources[2].values.at("password"), "pw-globex_support");
    EXPECT_EQ(c.sources[2].connector_origin, "builtin:tiledesk");
    // From source_template, and overridden by a file.
    EXPECT_EQ(c.sources[0].values.at("email"), "sync@agency.example");
    EXPECT_EQ(c.sources[2].values.at("email"), "sync@globex.example");
    const auto interval = [](const SourceConfig& s, const std::string& resource) {
        for (const auto& r : s.connector.resources) {
            if (r.name == resource) {
                return r.schedule.interval;
            }
        }
        return Millis{0};
    };
    EXPECT_EQ(interval(c.sources[0], "requests"), std::chrono::minutes(2));
    EXPECT_EQ(interval(c.sources[2], "requests"), std::chrono::minutes(1));
    EXPECT_EQ(interval(c.sources[2], "leads"), std::chrono::hours(1));
}

}  // namespace
}  // namespace chatsync::config
