// RunWriter's manifest: every event reaches it, a kill leaves it valid JSON,
// and a failed rewrite is reported rather than dropped.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "qemutrace/reader.h"
#include "qemutrace/run.h"
#include "qemutrace/writer.h"

namespace qemutrace {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/qt-runwriter-XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  return d ? d : "/tmp";
}

// The manifest as JSON; a discarded value if it is missing or not valid.
nlohmann::json read_manifest(const std::string& base) {
  std::ifstream f(base + ".json");
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, false);
}

size_t event_count(const nlohmann::json& m) {
  return m.is_object() && m.contains("events") ? m["events"].size() : 0;
}

ManifestEvent window_end(int id) {
  ManifestEvent e;
  e.event = "roi_end";
  e.source = "window";
  e.id = id;
  e.core = 0;
  return e;
}

// Polls `cond` every millisecond until it holds or `seconds` pass.
template <class F>
bool eventually(F cond, double seconds = 30) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return cond();
}

TEST(RunWriterManifest, EveryEventInOrderAfterFinish) {
  std::string base = temp_dir() + "/t";
  std::string err;
  auto w = RunWriter::create(base, RunOptions{}, RunInfo{}, &err);
  ASSERT_TRUE(w) << err;
  constexpr int kEvents = 5000;
  for (int i = 0; i < kEvents; i++) w->add_event(window_end(i));
  ASSERT_TRUE(w->finish()) << w->error();
  nlohmann::json m = read_manifest(base);
  ASSERT_FALSE(m.is_discarded());
  EXPECT_TRUE(m["complete"].get<bool>());
  ASSERT_EQ(event_count(m), size_t(kEvents));
  for (int i = 0; i < kEvents; i++) ASSERT_EQ(m["events"][i]["id"].get<int>(), i);
}

// The events are rendered once and spliced into each rewrite: the file must
// be exactly what the JSON library writes for the same document, with no
// events, one, and many with strings that need escaping.
TEST(RunWriterManifest, TextIsTheLibrarysOwnRendering) {
  std::string base = temp_dir() + "/t";
  auto text_of = [&] {
    std::ifstream f(base + ".json");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  auto same = [&](const char* when) {
    std::string t = text_of();
    nlohmann::json m = nlohmann::json::parse(t, nullptr, false);
    ASSERT_FALSE(m.is_discarded()) << when;
    EXPECT_EQ(t, m.dump(2) + "\n") << when;
  };
  std::string err;
  RunInfo info;
  info.command_line = {"qemu", "-append", "console=ttyS0 \"events\": \x01events\x01"};
  auto w = RunWriter::create(base, RunOptions{}, info, &err);
  ASSERT_TRUE(w) << err;
  same("no events");
  ManifestEvent odd = window_end(7);
  odd.detail = "quote \" backslash \\ newline \n tab \t \x01 \xc3\xa9";
  w->add_event(odd);
  ASSERT_TRUE(eventually([&] { return event_count(read_manifest(base)) == 1; }));
  same("one event");
  for (int i = 0; i < 300; i++) w->add_event(window_end(i));
  ASSERT_TRUE(w->finish()) << w->error();
  same("finished");
  nlohmann::json m = read_manifest(base);
  ASSERT_EQ(event_count(m), 301u);
  EXPECT_EQ(m["events"][0]["detail"].get<std::string>(), odd.detail);
}

// Events are handed to the manifest thread in batches while it rewrites:
// none may be lost or reordered at a hand-over. Each batch waits until the
// manifest on disk holds the one before, so there are many hand-overs.
TEST(RunWriterManifest, EventsAddedBetweenRewritesKeepTheirOrder) {
  std::string base = temp_dir() + "/t";
  std::string err;
  auto w = RunWriter::create(base, RunOptions{}, RunInfo{}, &err);
  ASSERT_TRUE(w) << err;
  constexpr int kBatches = 6, kBatch = 700;
  for (int b = 0; b < kBatches; b++) {
    for (int i = 0; i < kBatch; i++) w->add_event(window_end(b * kBatch + i));
    size_t want = size_t(b + 1) * kBatch;
    ASSERT_TRUE(eventually([&] { return event_count(read_manifest(base)) == want; })) << "batch " << b;
  }
  ASSERT_TRUE(w->finish()) << w->error();
  nlohmann::json m = read_manifest(base);
  ASSERT_EQ(event_count(m), size_t(kBatches * kBatch));
  for (int i = 0; i < kBatches * kBatch; i++) ASSERT_EQ(m["events"][i]["id"].get<int>(), i);
}

TEST(RunWriterManifest, EventsReachTheManifestWhileRunning) {
  std::string base = temp_dir() + "/t";
  std::string err;
  auto w = RunWriter::create(base, RunOptions{}, RunInfo{}, &err);
  ASSERT_TRUE(w) << err;
  w->add_event(window_end(1));
  EXPECT_TRUE(eventually([&] { return event_count(read_manifest(base)) == 1; }));
  w->add_event(window_end(2));
  EXPECT_TRUE(eventually([&] { return event_count(read_manifest(base)) == 2; }));
  nlohmann::json m = read_manifest(base);
  EXPECT_FALSE(m["complete"].get<bool>());
}

// A process killed at any moment leaves a manifest that parses, with the
// events written so far, and a core file readable up to its last chunk.
TEST(RunWriterManifest, ValidAfterKill) {
  std::string dir = temp_dir();
  for (int round = 0; round < 5; round++) {
    std::string base = dir + "/k" + std::to_string(round);
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(ready[0]);
      std::string e;
      RunOptions o;
      o.chunk_insns = 64;  // many small chunks: the kill lands mid-file
      auto w = RunWriter::create(base, o, RunInfo{}, &e);
      if (!w) ::_exit(2);
      uint8_t bytes[2] = {0x90, 0x90}, lengths[2] = {1, 1};
      const StaticBlock* b = w->intern_block(0x1000, 0x1000, bytes, lengths, 2);
      TraceSink* s = w->core(0);
      if (!s) ::_exit(3);
      bool told = false;
      for (int i = 0;; i++) {
        s->begin_block(b);
        s->end_block(2);
        if (i % 16 == 0) w->add_event(window_end(i));
        if (!told && i > 100000) {  // enough chunks and events for the parent to look at
          told = true;
          if (::write(ready[1], "r", 1) != 1) ::_exit(4);
        }
      }
    }
    ::close(ready[1]);
    char c;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);
    // Events reach the manifest a little after they happen: wait until some
    // have, then kill at a different point of the rewrite cycle each round.
    ASSERT_TRUE(eventually([&] { return event_count(read_manifest(base)) > 0; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(7 * round));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    nlohmann::json m = read_manifest(base);
    ASSERT_FALSE(m.is_discarded()) << "round " << round << ": the manifest is not valid JSON";
    EXPECT_FALSE(m["complete"].get<bool>());
    EXPECT_GT(event_count(m), 0u) << "round " << round;
    auto r = CoreReader::open(base + "_0");
    uint64_t n = 0;
    while (r->next()) n++;
    EXPECT_GT(n, 0u);
  }
}

// A rewrite that fails while the run goes on is reported by finish(), even
// if the final one succeeds; the manifest on disk stays the last one written.
TEST(RunWriterManifest, FailedRewriteIsReported) {
  std::string base = temp_dir() + "/t";
  std::string err;
  auto w = RunWriter::create(base, RunOptions{}, RunInfo{}, &err);
  ASSERT_TRUE(w) << err;
  w->add_event(window_end(1));
  ASSERT_TRUE(eventually([&] { return event_count(read_manifest(base)) == 1; }));
  // A directory where the temp file goes: the next rewrite cannot happen.
  ASSERT_EQ(::mkdir((base + ".json.tmp").c_str(), 0755), 0);
  w->add_event(window_end(2));
  ASSERT_TRUE(eventually([&] { return w->failed(); })) << "the failed rewrite was not reported";
  EXPECT_NE(w->error().find(base + ".json"), std::string::npos) << w->error();
  // Nothing already written is lost: the previous manifest is intact.
  EXPECT_EQ(event_count(read_manifest(base)), 1u);
  ASSERT_EQ(::rmdir((base + ".json.tmp").c_str()), 0);
  EXPECT_FALSE(w->finish());
  EXPECT_NE(w->error().find("cannot write " + base + ".json"), std::string::npos) << w->error();
  // The final manifest still has everything.
  EXPECT_EQ(event_count(read_manifest(base)), 2u);
}

TEST(RunWriterManifest, FailedFinalWriteIsReported) {
  std::string base = temp_dir() + "/t";
  std::string err;
  auto w = RunWriter::create(base, RunOptions{}, RunInfo{}, &err);
  ASSERT_TRUE(w) << err;
  ASSERT_EQ(::mkdir((base + ".json.tmp").c_str(), 0755), 0);
  EXPECT_FALSE(w->finish());
  EXPECT_NE(w->error().find("cannot write " + base + ".json"), std::string::npos) << w->error();
  nlohmann::json m = read_manifest(base);
  ASSERT_FALSE(m.is_discarded());
  EXPECT_FALSE(m["complete"].get<bool>());
}

}  // namespace
}  // namespace qemutrace
