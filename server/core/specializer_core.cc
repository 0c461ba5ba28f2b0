#include "server/core/specializer_core.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "server/core/build_identity.h"
#include "server/core/offline_tuning.h"
#include "server/core/request_key.h"
#include "server/version.h"
#include "codegen/host_platform.h"
#include "specializers/pipeline.h"
#include "specializers/platforms.h"
#include "specializers/registry.h"
#include "spdlog/spdlog.h"

namespace sejits::server {
namespace {

std::string short_key(const std::string &key) { return key.substr(0, 12); }

// Index metadata: what a hit must answer without re-running the pipeline.
// The interface is one field, its lines joined by '|'; each of the
// pipeline's notes (explain() shows them on hits too) is a `note=` line.
std::string encode_metadata(const SpecializeResult &result) {
  std::string text = absl::StrCat(
      "interface=", absl::StrJoin(absl::StrSplit(specializers::interface_to_text(result.interface), '\n', absl::SkipEmpty()), "|"),
      "\ncompile_seconds=", result.compile_seconds, "\nspecializer_version=", result.specializer_version, "\n");
  for (std::string note : result.notes) {
    std::replace(note.begin(), note.end(), '\n', ' ');
    absl::StrAppend(&text, "note=", note, "\n");
  }
  return text;
}

bool decode_metadata(const std::string &text, SpecializeResult &result) {
  bool has_interface = false;  // entries of older daemons have none: rebuilt
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> field = absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (field.first == "interface") {
      absl::StatusOr<specializers::KernelInterface> interface =
          specializers::interface_from_text(absl::StrJoin(absl::StrSplit(field.second, '|'), "\n"));
      has_interface = interface.ok();
      if (has_interface) result.interface = std::move(*interface);
    } else if (field.first == "compile_seconds") {
      (void)absl::SimpleAtod(field.second, &result.compile_seconds);
    } else if (field.first == "specializer_version") {
      result.specializer_version = field.second;
    } else if (field.first == "note") {
      result.notes.push_back(field.second);
    }
  }
  return has_interface;
}

// The precompiled headers of other versions of the runtime headers (20 MB
// each) go; their headers stay, for a daemon of that version still running.
void remove_other_versions_precompiled_headers(const std::filesystem::path &include_root,
                                               const std::filesystem::path &current) {
  std::error_code error;
  std::filesystem::directory_iterator entries(include_root, error), end;
  for (; !error && entries != end; entries.increment(error)) {  // never throws: the daemon starts whatever it meets
    if (entries->path() == current) continue;
    std::error_code ignored;
    std::filesystem::remove_all(entries->path() / "sejits" / "kernel_runtime.h.gch", ignored);
  }
}

}  // namespace

SpecializerCore::SpecializerCore(CoreConfig config) : config_(std::move(config)), pool_(config_.compile_jobs) {}

SpecializerCore::~SpecializerCore() = default;

absl::StatusOr<std::unique_ptr<SpecializerCore>> SpecializerCore::create(CoreConfig config) {
  std::unique_ptr<SpecializerCore> core(new SpecializerCore(std::move(config)));
  auto store = codegen::ArtifactStore::open(core->config_.cache_dir / "store", core->config_.max_cache_bytes);
  if (!store.ok()) return store.status();
  core->store_ = std::move(*store);
  // One include directory per version of the headers: a precompiled header
  // always sits beside the text it was made of (codegen/precompiled_header.h).
  const std::filesystem::path include_root = core->config_.cache_dir / "include";
  core->config_.compiler.include_dir = include_root / codegen::runtime_headers_digest().substr(0, 16);
  auto runtime_digest = codegen::install_runtime_headers(core->config_.compiler.include_dir);
  if (!runtime_digest.ok()) return runtime_digest.status();
  core->runtime_digest_ = *runtime_digest;
  remove_other_versions_precompiled_headers(include_root, core->config_.compiler.include_dir);
  core->compiler_identity_ = codegen::compiler_identity(core->config_.compiler);
  core->build_identity_ = server::build_identity(this_daemon_build_inputs(core->compiler_identity_, core->runtime_digest_));
  spdlog::info("core: build identity {}", core->build_identity_);
  spdlog::info("core: cache {} ({} artifacts, {} bytes), compiler {}", core->config_.cache_dir.string(),
               core->store_->counters().entries, core->store_->counters().bytes, core->compiler_identity_.substr(0, 120));
  std::filesystem::path tuning_db = core->config_.tuning_db.empty() ? core->config_.cache_dir / "tuning.db" : core->config_.tuning_db;
  core->tuning_ = std::make_unique<TuningCoordinator>(tuning_db, tuner::local_platform(core->compiler_identity_),
                                                      core->config_.timing_site);
  SpecializerCore *self = core.get();
  core->offline_ = std::make_unique<OfflineTuner>(
      *core->tuning_, core->config_.tune_runner,
      [self](const specializers::SpecializationRequest &request) { return self->serve(request, {}); });
  return core;
}

std::optional<SpecializeResult> SpecializerCore::serve_from_store(const std::string &key) {
  auto entry = store_->lookup_key(key);
  if (!entry) return std::nullopt;
  SpecializeResult result;
  if (!decode_metadata(entry->metadata, result)) {
    spdlog::warn("core: index entry {} has unreadable metadata; rebuilding", short_key(key));
    return std::nullopt;
  }
  auto blob = store_->get(entry->digest);
  if (!blob.ok()) {
    spdlog::info("core: key {} -> {}: {}; rebuilding", short_key(key), entry->digest.substr(0, 12),
                 std::string(blob.status().message()));
    return std::nullopt;
  }
  result.key = key;
  result.artifact = *blob;
  result.outcome = CacheOutcome::kHit;
  return result;
}

std::string SpecializerCore::key_of(const specializers::SpecializationRequest &request) const {
  auto target = choose_compile_target(request.worker, codegen::host_platform());
  return key_of(request, target.ok() ? *target : CompileTarget{});
}

std::string SpecializerCore::key_of(const specializers::SpecializationRequest &request, const CompileTarget &target) const {
  const specializers::Specializer *specializer = specializers::find_specializer(request.specializer);
  return request_key(request, KeyContext{specializer ? specializer->version() : "", compiler_identity_, runtime_digest_,
                                         target.march, specializer});
}

absl::StatusOr<SpecializeResult> SpecializerCore::specialize(const specializers::SpecializationRequest &request,
                                                             const SpecializeOptions &options) {
  if (request.platform == specializers::kNumpyPlatform) return numpy_module(request);
  const specializers::Specializer *specializer = specializers::find_specializer(request.specializer);
  if (!specializer || options.tuning.mode == TuningMode::kOff || has_variant_params(request)) return serve(request, options);
  const std::string kernel_key = key_of(request);
  // Offline jobs are known by the daemon's shape class, not the client's text.
  const TuningAsk ask = with_shape_class(*specializer, request, options.tuning).value_or(options.tuning);
  TuningPlan plan = tuning_->plan(*specializer, request, ask, kernel_key);
  specializers::SpecializationRequest variant = request;
  variant.params.insert(plan.variant_params.begin(), plan.variant_params.end());
  absl::StatusOr<SpecializeResult> result = serve(variant, options);
  if (!result.ok()) return result;
  if (plan.state == PlanState::kOfflinePending) {
    if (std::optional<std::string> failed = offline_->failure(ask, kernel_key)) {
      plan.state = PlanState::kUntuned;
      plan.candidates.clear();
      plan.reason = absl::StrCat("offline tuning failed: ", *failed);
    } else {
      offline_->start(request, ask, kernel_key);
    }
  }
  result->tuning = std::move(plan);
  return result;
}

std::optional<SpecializeResult> SpecializerCore::serve_if_cached(const specializers::SpecializationRequest &request,
                                                                const SpecializeOptions &options) {
  if (options.want_source || (options.tuning.mode != TuningMode::kOff && !has_variant_params(request))) return std::nullopt;
  if (!specializers::find_specializer(request.specializer)) return std::nullopt;
  absl::Time start = absl::Now();
  absl::StatusOr<CompileTarget> target = choose_compile_target(request.worker, codegen::host_platform());
  if (!target.ok()) return std::nullopt;
  std::optional<SpecializeResult> result = counted_hit(key_of(request, *target));
  if (!result) return std::nullopt;
  ++stats_.requests;
  result->build_identity = build_identity_;
  result->elapsed_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return result;
}

std::optional<SpecializeResult> SpecializerCore::counted_hit(const std::string &key) {
  std::optional<SpecializeResult> result = serve_from_store(key);
  if (!result) return std::nullopt;
  ++stats_.cache_hits;
  spdlog::debug("core: hit {} -> {}", short_key(key), result->artifact.digest.substr(0, 12));
  return result;
}

bool SpecializerCore::confirm_hit(const std::string &artifact_digest) {
  if (!store_->get(artifact_digest).ok()) return false;
  ++stats_.requests;
  ++stats_.cache_hits;
  return true;
}

absl::StatusOr<TuningPlan> SpecializerCore::report_timings(const specializers::SpecializationRequest &request,
                                                           const TuningAsk &ask, const std::vector<VariantTiming> &timings,
                                                           bool finish) {
  const specializers::Specializer *specializer = specializers::find_specializer(request.specializer);
  if (!specializer) return absl::InvalidArgumentError(absl::StrCat("unknown specializer '", request.specializer.substr(0, 40), "'"));
  return tuning_->report(*specializer, request, ask, key_of(request), timings, finish);
}

absl::StatusOr<tuner::TuningDb *> SpecializerCore::tuning_database() {
  if (!tuning_->available()) return absl::FailedPreconditionError(absl::StrCat("no tuning database: ", tuning_->unavailable_reason()));
  return tuning_->database();
}

absl::StatusOr<int64_t> SpecializerCore::reset_tuning(const std::string &kernel_filter) {
  absl::StatusOr<tuner::TuningDb *> db = tuning_database();
  if (!db.ok()) return db.status();
  offline_->forget_failures();
  return (*db)->reset(kernel_filter);
}

absl::StatusOr<SpecializeResult> SpecializerCore::serve(const specializers::SpecializationRequest &request,
                                                        const SpecializeOptions &options) {
  absl::Time start = absl::Now();
  ++stats_.requests;
  absl::StatusOr<CompileTarget> target = choose_compile_target(request.worker, codegen::host_platform());
  if (!target.ok()) {
    ++stats_.rejected;
    return target.status();
  }
  std::string key = key_of(request, *target);

  std::optional<SpecializeResult> result = counted_hit(key);
  if (!result) {
    ++stats_.cache_misses;
    FlightRole role;
    Build build = flights_.run(
        key,
        [&] {
          // A build of this key may have finished between the lookup above and
          // this flight: look again before compiling.
          if (auto stored = serve_from_store(key)) return Build{absl::OkStatus(), *stored};
          return this->build(request, key, *target, options.want_source);
        },
        role);
    if (role == FlightRole::kJoined) {
      ++stats_.joined_in_flight;
      build.result.outcome = CacheOutcome::kJoined;
      spdlog::debug("core: joined the in-flight build of {}", short_key(key));
    }
    if (!build.status.ok()) return build.status;
    result = build.result;
  }
  if (options.want_source && result->source.empty()) {
    auto kernel = specializers::run_pipeline(request);
    if (kernel.ok()) {
      result->source = kernel->source;
      result->notes = kernel->notes;
    }
  }
  result->build_identity = build_identity_;
  result->elapsed_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return *result;
}

SpecializerCore::Build SpecializerCore::build(const specializers::SpecializationRequest &request, const std::string &key,
                                              const CompileTarget &target, bool want_source) {
  if (!config_.upstream) {
    if (config_.has_compiler) return compile_here(request, key, target);
    return Build{absl::FailedPreconditionError("this daemon has no compiler (--compiler=none) and no --upstream to ask"), {}};
  }
  Build build = fetch_from_upstream(request, key, want_source);
  if (build.status.ok() || !config_.has_compiler || build.status.code() != absl::StatusCode::kUnavailable) return build;
  spdlog::warn("core: upstream {} unavailable ({}); compiling {} here", config_.upstream->address(),
               std::string(build.status.message()), short_key(key));
  return compile_here(request, key, target);
}

SpecializerCore::Build SpecializerCore::compile_here(const specializers::SpecializationRequest &request,
                                                     const std::string &key, const CompileTarget &target) {
  Build build;
  auto kernel = specializers::run_pipeline(request);
  if (!kernel.ok()) {
    ++stats_.rejected;
    spdlog::info("core: rejected {} ({}): {}", short_key(key), request.specializer, std::string(kernel.status().message()));
    build.status = kernel.status();
    return build;
  }
  auto work_dir = store_->make_work_dir();
  if (!work_dir.ok()) {
    build.status = work_dir.status();
    return build;
  }
  codegen::CompilerConfig compiler = config_.compiler;
  compiler.flags = flags_for_target(compiler.flags, target);
  // The artifact carries this daemon's build identity: a build that differs
  // never yields the same digest, even where the code is the same.
  const std::string stamped_source = kernel->source + build_identity_stamp(build_identity_);
  precompiled_header_.prepare(compiler);
  auto compiled = pool_.run([&] { return codegen::compile_shared_object(compiler, stamped_source, *work_dir, kernel->libraries); });
  SpecializeResult &result = build.result;
  result.key = key;
  result.interface = kernel->interface;
  result.outcome = CacheOutcome::kCompiled;
  result.source = kernel->source;
  result.notes = kernel->notes;
  if (!target.note.empty()) result.notes.push_back(target.note);
  result.specializer_version = kernel->specializer_version;
  absl::Status published = compiled.status();
  if (compiled.ok()) {
    result.compile_seconds = compiled->seconds;
    published = publish(key, compiled->path, result);
  }
  std::error_code ignored;
  std::filesystem::remove_all(*work_dir, ignored);
  if (!published.ok()) {
    ++stats_.compile_failures;
    // The kernel's name (the Python function's) tells the user which call failed.
    const std::string kernel_name = request.function ? request.function->name().substr(0, 80) : "";
    const std::string what = kernel_name.empty() ? absl::StrCat(request.specializer, " kernel")
                                                 : absl::StrCat(request.specializer, " kernel '", kernel_name, "'");
    spdlog::error("core: build of {} ({}) failed: {}", short_key(key), what, std::string(published.message()));
    build.status = absl::Status(published.code(), absl::StrCat("compiling the ", what, " failed: ", published.message()));
    return build;
  }
  ++stats_.compiles;
  stats_.record_compile_seconds(compiled->seconds);
  spdlog::info("core: compiled {} -> {} ({} bytes) in {:.3f}s", short_key(key), result.artifact.digest.substr(0, 12),
               result.artifact.bytes, compiled->seconds);
  return build;
}

absl::StatusOr<SpecializeResult> SpecializerCore::numpy_module(const specializers::SpecializationRequest &request) {
  absl::Time start = absl::Now();
  ++stats_.requests;
  auto kernel = specializers::run_pipeline(request);
  if (!kernel.ok()) {
    spdlog::debug("core: no NumPy module for a {} request: {}", request.specializer, std::string(kernel.status().message()));
    return kernel.status();
  }
  SpecializeResult result;
  result.key = key_of(request);
  result.interface = kernel->interface;
  result.outcome = CacheOutcome::kNumpySource;
  result.source = std::move(kernel->source);
  result.notes = std::move(kernel->notes);
  result.specializer_version = kernel->specializer_version;
  result.elapsed_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  spdlog::debug("core: printed the NumPy module of {} in {:.1f} ms", short_key(result.key), 1000 * result.elapsed_seconds);
  return result;
}

SpecializerCore::Build SpecializerCore::fetch_from_upstream(const specializers::SpecializationRequest &request,
                                                            const std::string &key, bool want_source) {
  Build build;
  auto work_dir = store_->make_work_dir();
  if (!work_dir.ok()) {
    build.status = work_dir.status();
    return build;
  }
  ++stats_.upstream_requests;
  absl::StatusOr<UpstreamBuild> fetched = config_.upstream->build(request, want_source, *work_dir);
  SpecializeResult &result = build.result;
  absl::Status published = fetched.status();
  if (fetched.ok()) {
    result.key = key;
    result.interface = fetched->interface;
    result.outcome = CacheOutcome::kCompiled;
    result.compile_seconds = fetched->compile_seconds;
    result.source = fetched->source;
    result.notes = fetched->notes;
    result.notes.push_back(absl::StrCat("built by the upstream daemon ", config_.upstream->address(), " (build identity ",
                                        fetched->build_identity.substr(0, 12), ")"));
    result.specializer_version = fetched->specializer_version;
    published = publish(key, fetched->file, result);
    if (published.ok() && result.artifact.digest != fetched->digest) {
      published = absl::DataLossError("the artifact changed between its verification and its storing");
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(*work_dir, ignored);
  if (!published.ok()) {
    ++stats_.upstream_failures;
    spdlog::warn("core: upstream {} could not serve {}: {}", config_.upstream->address(), short_key(key),
                 std::string(published.message()));
    build.status = published;
    return build;
  }
  spdlog::info("core: stored {} -> {} ({} bytes) from upstream {}", short_key(key), result.artifact.digest.substr(0, 12),
               result.artifact.bytes, config_.upstream->address());
  return build;
}

absl::Status SpecializerCore::publish(const std::string &key, const std::filesystem::path &file, SpecializeResult &result) {
  std::error_code error;
  const auto bytes = static_cast<int64_t>(std::filesystem::file_size(file, error));
  if (!error && bytes > config_.max_artifact_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("the artifact is ", bytes, " bytes (at most ", config_.max_artifact_bytes,
                                                     ": --max_artifact_bytes)"));
  }
  absl::StatusOr<codegen::BlobInfo> blob = store_->put_file(file);
  if (!blob.ok()) return blob.status();
  result.artifact = *blob;
  // The index is written last: a crash before this point leaves at most an
  // unreferenced blob, never an entry pointing at nothing.
  if (absl::Status recorded = store_->record_key(key, {blob->digest, encode_metadata(result)}); !recorded.ok()) {
    spdlog::warn("core: could not record {} in the index: {}", short_key(key), std::string(recorded.message()));
  }
  // The store stays under its bound at every publish, not only at the next
  // maintenance pass. The blob just published was written last (its mtime is
  // the compiler's write), so it is the last to go; a process that loaded an
  // evicted blob keeps its mapping.
  store_->evict_to_limit();
  return absl::OkStatus();
}

absl::StatusOr<codegen::BlobInfo> SpecializerCore::artifact(const std::string &digest) { return store_->get(digest); }

DaemonStats SpecializerCore::stats() {
  DaemonStats out;
  out.version = kSejitsVersion;
  out.build_identity = build_identity_;
  out.uptime_seconds = absl::ToDoubleSeconds(absl::Now() - started_);
  out.counters = stats_.snapshot();
  out.store = store_->counters();
  out.cache_dir = config_.cache_dir.string();
  out.listen_addresses = config_.listen_addresses;
  out.compiler = config_.has_compiler ? config_.compiler.compiler : "none";
  out.upstream = config_.upstream ? config_.upstream->address() : "";
  return out;
}

void SpecializerCore::maintain() { store_->evict_to_limit(); }

}  // namespace sejits::server
