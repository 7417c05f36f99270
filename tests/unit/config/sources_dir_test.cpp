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
}

}  // namespace
}  // namespace chatsync::config
