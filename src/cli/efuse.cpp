// `espsec efuse ...`: the espefuse command set on virtual eFuses (`--virt`, optionally kept in
// `--path-efuse-file FILE`, byte-compatible with espefuse's file). Several commands may follow
// each other in one invocation, as with espefuse; two or more burn commands are then burned
// together in one batch, and read commands run again after the burn.
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "core/file_io.hpp"
#include "efuse/espefuse_commands.hpp"
#include "efuse/espefuse_view.hpp"
#include "efuse/storage.hpp"

namespace espsec::cli {
namespace {

namespace fs = std::filesystem;
using namespace espsec::efuse;

// Chips espefuse v5.1.0 knows; espsec has eFuse data for esp32c3 only so far.
const std::set<std::string, std::less<>> kEspefuseChips = {"esp32",   "esp32c2", "esp32c3", "esp32c5",
                                                           "esp32c6", "esp32c61", "esp32h2", "esp32h21",
                                                           "esp32h4", "esp32p4", "esp32s2", "esp32s3"};

const std::vector<std::string> kReadCommands = {"summary", "dump", "check-error"};
const std::vector<std::string> kBurnCommands = {"burn-efuse",         "burn-key",          "burn-key-digest",
                                                "burn-bit",           "read-protect-efuse", "write-protect-efuse"};

struct Globals {
  std::string chip = "auto";
  bool virt = false;
  std::string path;
  std::string port;
  bool do_not_confirm = false;
  bool debug = false;
};

// One invocation: the chip, the batch the burn commands fill, and what to check afterwards.
class Session {
 public:
  Session(const Globals& globals, std::unique_ptr<Controller> chip, bool batch_mode)
      : globals_(globals), chip_(std::move(chip)), batch_(chip_->begin_batch()), batch_mode_(batch_mode) {}

  Controller& chip() { return *chip_; }
  Batch& batch() { return batch_; }
  const Globals& globals() const { return globals_; }

  void print(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
  void print(Transcript& out) { print(out.take()); }

  // After a burn command has staged its bits: burn now, or (batch mode) at the end.
  Result<bool> staged(AfterBurn checks) {
    checks_.merge(std::move(checks));
    if (batch_mode_) {
      print("\nBatch mode is enabled, the burn will be done at the end of the command.\n");
      return true;
    }
    return burn();
  }

  // Shows what will change, asks for BURN, commits, and checks the result. false = aborted.
  Result<bool> burn() {
    Transcript out;
    AfterBurn checks = std::exchange(checks_, {});
    if (batch_.empty()) {
      out.line();
      out.line("Nothing to burn, see messages above.");
      print(out);
      ESPSEC_TRY(verify_after_burn(*chip_, checks, out));
      print(out);
      return true;
    }
    const bool sensitive = globals_.debug || show_sensitive_info_;
    out.line();
    out.line("The following eFuses will change:");
    for (const std::string& line : describe_changes(*chip_, batch_, sensitive)) out.line("{}", line);
    if (globals_.debug) {
      for (const BlockInfo& b : chip_->chip().blocks)
        if (batch_.touches_block(b.id)) out.line("{}", block_line(b, batch_.pending_block(b.id).expose(), "to_write"));
    }
    out.line();
    out.line("This is an irreversible operation!");
    print(out);
    if (!globals_.do_not_confirm) {
      if (::isatty(STDIN_FILENO) == 0)
        return fail("efuse.confirmation_needed",
                    "burning eFuses asks you to type BURN, but stdin is not a terminal; nothing was burned "
                    "(pass --do-not-confirm to burn without asking)");
      print("Type 'BURN' (all capitals) to continue.\n");
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "BURN") {
        print("Aborting.\n");
        return false;
      }
    }
    auto committed = batch_.commit();
    if (!committed) {
      if (!globals_.path.empty()) return std::unexpected(with_context(committed.error(), globals_.path));
      return std::unexpected(committed.error());
    }
    out.line("Reading updated eFuses...");
    ESPSEC_TRY(verify_after_burn(*chip_, checks, out));
    print(out);
    return true;
  }

  void want_sensitive_info(bool show) { show_sensitive_info_ = show_sensitive_info_ || show; }
  bool batch_mode() const { return batch_mode_; }

 private:
  const Globals& globals_;
  std::unique_ptr<Controller> chip_;
  Batch batch_;
  bool batch_mode_;
  bool show_sensitive_info_ = false;
  AfterBurn checks_;
};

// A parsed command, run once the whole command line is known.
struct Command {
  std::string name;
  bool burns = false;
  std::function<Result<bool>(Session&)> run;  // false = the user aborted
};

struct State {
  Globals globals;
  std::vector<Command> order;  // commands in command-line order
  std::optional<Error> repeated;
};

Result<const ChipDescription*> chosen_chip(const Globals& g) {
  if (!g.port.empty())
    return fail("efuse.no_serial",
                "espsec efuse works on virtual eFuses only; serial ports are not supported (use --virt, and "
                "--path-efuse-file FILE to keep the eFuses)");
  // As esptool's ChipType: case and dashes do not matter ("ESP32-C3"). With --virt and no --chip
  // espefuse would emulate an ESP32; espsec emulates the ESP32-C3.
  std::string chip;
  for (char ch : g.chip)
    if (ch != '-') chip += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (chip == "auto") chip = "esp32c3";
  if (const ChipDescription* c = find_chip(chip)) {
    if (!g.virt)
      return fail("efuse.virtual_only",
                  "only virtual eFuses are supported: add --virt (and --path-efuse-file FILE to keep them in a file)");
    return c;
  }
  if (kEspefuseChips.count(chip))
    return fail("efuse.chip_unsupported", "--chip {} is not supported yet; espsec emulates the eFuses of the ESP32-C3 (esp32c3)",
                chip);
  return fail("efuse.chip_unknown", "unknown --chip '{}'; espsec emulates esp32c3", chip);
}

Result<std::unique_ptr<Controller>> open_chip(const Globals& g, const ChipDescription& chip) {
  std::unique_ptr<Storage> storage;
  if (g.path.empty()) storage = std::make_unique<MemoryStorage>();
  else storage = std::make_unique<FileStorage>(g.path);
  auto c = Controller::open(chip, std::move(storage));
  if (!c && !g.path.empty()) return std::unexpected(with_context(c.error(), g.path));
  return c;
}

// ---- read commands ----------------------------------------------------------------------------

Result<bool> run_summary(Session& s, const std::vector<std::string>& names, const std::string& format,
                         const std::string& file) {
  const SummaryFormat f = format == "json"         ? SummaryFormat::kJson
                          : format == "value_only" ? SummaryFormat::kValueOnly
                                                   : SummaryFormat::kSummary;
  if (!file.empty()) s.print(fmt::format("Saving eFuse values to {}\n", file));
  ESPSEC_ASSIGN_OR_RETURN(std::string text, summary(s.chip(), names, f));
  std::string warnings;
  if (f == SummaryFormat::kSummary)
    for (const std::string& line : coding_error_lines(s.chip())) warnings += line + "\n";
  s.print(warnings);
  if (file.empty()) {
    s.print(f == SummaryFormat::kJson ? text + "\n" : text);
    return true;
  }
  ESPSEC_TRY(write_file_atomic(file, as_bytes(text), FileMode::kPublic));
  s.print(f == SummaryFormat::kJson ? "\n" : "Done\n");
  return true;
}

Result<bool> run_dump(Session& s, std::string format, const std::string& file_name) {
  const Controller& c = s.chip();
  if (format == "default") {
    if (file_name.empty()) {
      s.print(dump_text(c));
      return true;
    }
    format = "split";  // espefuse keeps `dump --file-name F` working this way
  }
  std::string console;
  Bytes joint;
  for (const BlockInfo& b : c.chip().blocks) {
    const Bytes data = dump_block(c, b.id);
    if (file_name.empty()) {
      console += to_hex(data) + "\n";
    } else if (format == "split") {
      const fs::path base(file_name);
      const fs::path name = base.parent_path() / fmt::format("{}{}{}", base.stem().string(), b.id, base.extension().string());
      s.print(fmt::format("Dump eFuse block{} -> {}\n", b.id, name.string()));
      ESPSEC_TRY(write_file_atomic(name, data, FileMode::kPublic));
    } else {
      joint.insert(joint.end(), data.begin(), data.end());
    }
  }
  if (!file_name.empty() && format == "joint") {
    s.print(fmt::format("Dump eFuse blocks -> {}\n", file_name));
    ESPSEC_TRY(write_file_atomic(file_name, joint, FileMode::kPublic));
  }
  s.print(console);
  return true;
}

Result<bool> run_check_error(Session& s) {
  Transcript out;
  const Status status = check_error(s.chip(), out);
  s.print(out);
  if (!status) return std::unexpected(status.error());
  return true;
}

// ---- burn commands ----------------------------------------------------------------------------

Result<std::vector<KeyRequest>> key_requests(const std::vector<std::string>& args, bool digest) {
  if (args.empty() || args.size() % 3 != 0)
    return fail("efuse.bad_arguments", "Expected multiple of 3 values (BLOCK KEYFILE KEYPURPOSE), got {}", args.size());
  std::vector<KeyRequest> requests;
  for (size_t i = 0; i < args.size(); i += 3) {
    KeyRequest r;
    r.block = args[i];
    r.purpose = args[i + 2];
    if (digest) {
      ESPSEC_ASSIGN_OR_RETURN(Bytes pem, read_file(args[i + 1]));
      auto d = sbv2_key_digest_for_pem(pem);
      if (!d) return std::unexpected(with_context(d.error(), args[i + 1]));
      r.data = std::move(*d);
    } else {
      ESPSEC_ASSIGN_OR_RETURN(r.data, read_secret_file(args[i + 1]));
    }
    requests.push_back(std::move(r));
  }
  return requests;
}

template <class Stage>
Result<bool> run_burn(Session& s, Stage stage) {
  Transcript out;
  auto staged = stage(out);
  s.print(out);
  if (!staged) return std::unexpected(staged.error());
  return s.staged(std::move(*staged));
}

// ---- registration -----------------------------------------------------------------------------

std::vector<std::string> all_command_spellings() {
  std::vector<std::string> names;
  for (const auto* list : {&kReadCommands, &kBurnCommands}) {
    for (const std::string& n : *list) {
      names.push_back(n);
      std::string underscored = n;
      std::replace(underscored.begin(), underscored.end(), '-', '_');
      names.push_back(underscored);
    }
  }
  return names;
}

// Positional lists stop at the next command name, so commands can be chained.
CLI::Validator not_a_command() {
  const auto names = all_command_spellings();
  return CLI::Validator(
      [names](std::string& value) -> std::string {
        return std::find(names.begin(), names.end(), value) != names.end() ? "a command name" : "";
      },
      "", "not a command");
}

CLI::App* add_efuse_command(CLI::App& group, const std::string& name, const std::string& description) {
  CLI::App* cmd = add_command(group, name, description);
  cmd->validate_positionals();
  cmd->fallthrough();  // global options may follow a command; the next command name ends this one
  return cmd;
}

// Queues `command` to run once the whole command line has been parsed.
void on_parsed(CLI::App* cmd, const std::shared_ptr<State>& state, Command command) {
  cmd->callback([cmd, state, command = std::move(command)] {
    if (cmd->count() > 1 && !state->repeated)
      state->repeated = Error{"efuse.repeated_command", fmt::format("{} is given {} times; give each command once per "
                                                                    "invocation", command.name, cmd->count())};
    state->order.push_back(command);
  });
}

}  // namespace

void register_efuse(CLI::App& app, Runner& runner) {
  auto state = std::make_shared<State>();
  CLI::App* efuse = add_command(app, "efuse", "Virtual eFuses: summary, dump and burning (espefuse)");
  efuse->require_subcommand(1, 0);
  Globals& g = state->globals;
  efuse->add_option(option_names("chip", 'c'), g.chip, "Target chip (esp32c3; 'auto' means esp32c3)")->capture_default_str();
  efuse->add_flag(option_names("virt"), g.virt, "Work on virtual eFuses (the only mode espsec supports)");
  efuse->add_option(option_names("path-efuse-file"), g.path,
                    "Keep the virtual eFuses in this espefuse-compatible 512-byte file (created if missing)");
  efuse->add_flag(option_names("do-not-confirm"), g.do_not_confirm, "Burn without asking to type BURN");
  efuse->add_flag(option_names("debug", 'd'), g.debug, "Show register dumps and key bytes");
  efuse->add_option(option_names("port", 'p'), g.port, "Serial port (not supported: virtual eFuses only)");
  const CLI::Validator names_only = not_a_command();

  {
    auto* cmd = add_efuse_command(*efuse, "summary", "Print a summary of eFuse values");
    auto names = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>("summary");
    auto file = std::make_shared<std::string>();
    cmd->add_option("efuses_to_show", *names, "Only these eFuses")->check(names_only);
    cmd->add_option(option_names("format"), *format, "summary, json or value_only")
        ->check(CLI::IsMember({"summary", "json", "value_only"}))
        ->capture_default_str();
    cmd->add_option(option_names("file"), *file, "Write the summary to this file");
    on_parsed(cmd, state, {"summary", false, [=](Session& s) { return run_summary(s, *names, *format, *file); }});
  }
  {
    auto* cmd = add_efuse_command(*efuse, "dump", "Dump raw eFuse blocks");
    auto format = std::make_shared<std::string>("default");
    auto file = std::make_shared<std::string>();
    cmd->add_option(option_names("format"), *format, "default, split or joint")
        ->check(CLI::IsMember({"default", "split", "joint"}))
        ->capture_default_str();
    cmd->add_option(option_names("file-name"), *file, "Save the dump here (split: one file per block)");
    on_parsed(cmd, state, {"dump", false, [=](Session& s) { return run_dump(s, *format, *file); }});
  }
  {
    auto* cmd = add_efuse_command(*efuse, "check-error", "Report eFuse coding errors");
    on_parsed(cmd, state, {"check-error", false, [](Session& s) { return run_check_error(s); }});
  }
  {
    auto* cmd = add_efuse_command(*efuse, "burn-efuse", "Burn eFuses: NAME VALUE [NAME VALUE ...]");
    auto args = std::make_shared<std::vector<std::string>>();
    auto force = std::make_shared<bool>(false);
    cmd->add_option("name_value_pairs", *args, "eFuse names and values")->required()->check(names_only);
    cmd->add_flag(option_names("force"), *force, "Ignore incompatible-settings checks (none on ESP32-C3)");
    on_parsed(cmd, state, {"burn-efuse", true, [=](Session& s) {
                                 return run_burn(s, [&](Transcript& out) {
                                   return stage_burn_efuse(s.chip(), s.batch(), *args, out);
                                 });
                               }});
  }
  for (const bool digest : {false, true}) {
    const std::string name = digest ? "burn-key-digest" : "burn-key";
    auto* cmd = add_efuse_command(*efuse, name,
                                  digest ? "Burn the Secure Boot v2 digest of a public key: BLOCK KEYFILE PURPOSE ..."
                                         : "Burn keys: BLOCK KEYFILE PURPOSE [BLOCK KEYFILE PURPOSE ...]");
    auto args = std::make_shared<std::vector<std::string>>();
    auto key_options = std::make_shared<KeyOptions>();
    auto options = std::make_shared<StageOptions>();
    key_options->digest = digest;
    cmd->add_option("block_keyfile_keypurpose", *args, "Groups of block, key file and key purpose")
        ->required()
        ->check(names_only);
    cmd->add_flag(option_names("no-write-protect"), key_options->no_write_protect, "Leave the key block writable");
    cmd->add_flag(option_names("no-read-protect"), key_options->no_read_protect, "Leave the key block readable");
    cmd->add_flag(option_names("force-write-always"), options->force_write_always,
                  "Skip protected targets instead of failing");
    cmd->add_flag(option_names("show-sensitive-info"), options->show_sensitive_info, "Print the key bytes");
    on_parsed(cmd, state, {name, true, [=](Session& s) -> Result<bool> {
                                 ESPSEC_ASSIGN_OR_RETURN(auto requests, key_requests(*args, digest));
                                 StageOptions opts = *options;
                                 opts.show_sensitive_info = opts.show_sensitive_info || s.globals().debug;
                                 s.want_sensitive_info(opts.show_sensitive_info);
                                 if (!opts.show_sensitive_info) s.print("Sensitive data will be hidden (see --show-sensitive-info)\n");
                                 return run_burn(s, [&](Transcript& out) {
                                   return stage_burn_key(s.chip(), s.batch(), requests, *key_options, opts, out);
                                 });
                               }});
  }
  {
    auto* cmd = add_efuse_command(*efuse, "burn-bit", "Burn bits of a block: BLOCK BIT ...");
    auto block = std::make_shared<std::string>();
    auto bits = std::make_shared<std::vector<unsigned>>();
    auto options = std::make_shared<StageOptions>();
    cmd->add_option("block", *block, "Block name (BLOCK0, BLOCK_KEY0, BLOCK4, ...)")->required()->check(names_only);
    cmd->add_option("bit_number", *bits, "Bit numbers within the block")->required()->check(names_only);
    cmd->add_flag(option_names("force-write-always"), options->force_write_always,
                  "Skip protected targets instead of failing");
    on_parsed(cmd, state, {"burn-bit", true, [=](Session& s) {
                                 return run_burn(s, [&](Transcript& out) {
                                   return stage_burn_bit(s.chip(), s.batch(), *block, *bits, *options, out);
                                 });
                               }});
  }
  for (const bool read : {true, false}) {
    const std::string name = read ? "read-protect-efuse" : "write-protect-efuse";
    auto* cmd = add_efuse_command(*efuse, name,
                                  read ? "Disable software reads of eFuses (key blocks)" : "Disable writes to eFuses");
    auto names = std::make_shared<std::vector<std::string>>();
    cmd->add_option("efuse_name", *names, "eFuse names")->required()->check(names_only);
    on_parsed(cmd, state, {name, true, [=](Session& s) {
                                 return run_burn(s, [&](Transcript& out) {
                                   return read ? stage_read_protect(s.chip(), s.batch(), *names, out)
                                               : stage_write_protect(s.chip(), s.batch(), *names, out);
                                 });
                               }});
  }

  bind_exit(efuse, runner, [state]() -> Result<int> {
    if (state->repeated) return std::unexpected(*state->repeated);
    std::vector<const Command*> order;
    for (const Command& command : state->order) order.push_back(&command);
    ESPSEC_ASSIGN_OR_RETURN(const ChipDescription* chip, chosen_chip(state->globals));
    const Globals& globals = state->globals;
    ESPSEC_ASSIGN_OR_RETURN(auto controller, open_chip(globals, *chip));
    const size_t burns = static_cast<size_t>(std::count_if(order.begin(), order.end(), [](const Command* c) { return c->burns; }));
    Session session(globals, std::move(controller), burns > 1);
    if (globals.debug) {
      for (const BlockInfo& b : chip->blocks) session.print(block_line(b, session.chip().read_block(b.id), "read_regs"));
    }
    auto run = [&](const Command& command) -> Result<bool> {
      session.print(fmt::format("\n=== Run \"{}\" command ===\n", command.name));
      auto result = command.run(session);
      if (!result) return std::unexpected(with_context(result.error(), command.name));
      return result;
    };
    for (const Command* command : order) {
      ESPSEC_ASSIGN_OR_RETURN(bool go_on, run(*command));
      if (!go_on) return kExitOk;  // the user did not type BURN: espefuse exits 0, nothing burned
    }
    if (session.batch_mode()) {
      ESPSEC_ASSIGN_OR_RETURN(bool go_on, session.burn());
      if (!go_on) return kExitOk;
    }
    // espefuse runs the read commands once more after burning, to show the result.
    if (burns > 0) {
      for (const Command* command : order) {
        if (!command->burns) ESPSEC_TRY(run(*command));
      }
    }
    return kExitOk;
  });
}

}  // namespace espsec::cli
