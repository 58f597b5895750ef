// Wake-ups deferred to the end of a batch. A thread that handles many requests in a row (an
// I/O thread going through every frame of one recv) opens a DeferredWakeScope; code that would
// wake another thread after each request (the store waking its dispatcher after an append)
// calls defer_wake() instead, and the wake-up runs once, when the outermost scope on this
// thread closes. Without an open scope, defer_wake() returns false and the caller wakes at
// once. A scope must not span a coroutine suspension: it is per thread.
#pragma once

namespace comet {

using WakeFn = void (*)(void* arg);

// True when a scope is open on this thread and (fn, arg) will run at its end (once, however
// often it was deferred); false when the caller must run it now.
bool defer_wake(WakeFn fn, void* arg);

class DeferredWakeScope {
 public:
  DeferredWakeScope();
  ~DeferredWakeScope();  // the outermost scope runs the deferred wake-ups
  DeferredWakeScope(const DeferredWakeScope&) = delete;
  DeferredWakeScope& operator=(const DeferredWakeScope&) = delete;
};

}  // namespace comet
