# qemutrace-guest-run for guests of your own (docs/guide.md, "The guest
# helper"): static x86_64 and i386 builds in build/bin, made by the script
# that builds the built-in guest's programs (guest/build-programs.sh).
# guest/ holds no build files: its contents are the built-in image's stamp.
set(QEMUTRACE_GUEST_HELPERS "")
foreach(arch x86_64 i386)
  if(arch STREQUAL "i386")
    set(cc i686-linux-gnu-gcc)
  else()
    set(cc gcc)
  endif()
  find_program(QEMUTRACE_CC_${arch} ${cc})
  if(NOT QEMUTRACE_CC_${arch})
    message(WARNING "${cc} not found: no ${arch} qemutrace-guest-run in bin/ (make deps installs it)")
    continue()
  endif()
  set(dir ${CMAKE_BINARY_DIR}/guest-helper/${arch})
  set(out ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/qemutrace-guest-run-${arch})
  add_custom_command(OUTPUT ${out}
    COMMAND bash ${PROJECT_SOURCE_DIR}/guest/build-programs.sh --arch ${arch} ${dir} qemutrace-guest-run
    COMMAND ${CMAKE_COMMAND} -E copy ${dir}/qemutrace-guest-run ${out}
    DEPENDS ${PROJECT_SOURCE_DIR}/guest/qemutrace-guest-run.c ${PROJECT_SOURCE_DIR}/guest/build-programs.sh
    COMMENT "Building the static ${arch} qemutrace-guest-run"
    VERBATIM)
  list(APPEND QEMUTRACE_GUEST_HELPERS ${out})
endforeach()
add_custom_target(guest_helpers ALL DEPENDS ${QEMUTRACE_GUEST_HELPERS})
install(PROGRAMS ${QEMUTRACE_GUEST_HELPERS} DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/qemutrace)
