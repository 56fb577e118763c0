/*
 * nrphost._stamp: the step-latency profile's time stamps, written straight into the host's ring.
 *
 * A profiled step reads the clock nine times (two-engine FTI cycle). From Python, each read is a call to
 * time.perf_counter, a float, and a store of it; that alone is most of a microsecond per step. Ring.stamp(k) does the
 * same in one call: it reads CLOCK_MONOTONIC (the clock of time.perf_counter, in seconds, so stamps of both kinds
 * compare) and stores it as slot k of the record being written, in the host's memory. Ring.commit() publishes the
 * record: the count in slot 0 of the ring is stored with release semantics, so a reader that sees it sees the record.
 *
 * The ring's layout is nrphost/profiling.py's: slot 0 (int64) the count of records written, then `records` records of
 * `slots` doubles. Python's stand-in for this module (profiling.PythonRing) behaves the same, slower.
 *
 * Built against the stable ABI of CPython 3.11 (one file serves 3.11 and later) by eng/build-stamp.sh when the
 * library is built; without it NrpHost uses the stand-in.
 *
 * Safety: every slot index is checked against the record's size, and release() forgets the memory (later calls raise
 * ValueError), so no Python code can make this object write outside the ring or after the host freed it. The
 * constructor takes an address, like ctypes (which any script can import) does; it adds no capability.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <time.h>

typedef struct {
    PyObject_HEAD
    int64_t *head;      /* slot 0 of the ring: records written */
    double *records;    /* the records, `slots` doubles each */
    double *current;    /* the record being written; NULL before init and once released */
    Py_ssize_t slots;
    int64_t mask;       /* records - 1 (a power of two of them) */
    int64_t written;
    int set_up;         /* init ran: a ring is pointed at its memory once, never again (not after release either) */
} Ring;

static int
usable(Ring *self)
{
    if (self->current == NULL) {
        PyErr_SetString(PyExc_ValueError, "the step-latency ring was released");
        return 0;
    }
    return 1;
}

static void
publish(Ring *self)
{
    self->written++;
    __atomic_store_n(self->head, self->written, __ATOMIC_RELEASE);
    self->current = self->records + (self->written & self->mask) * self->slots;
}

static PyObject *
Ring_stamp(Ring *self, PyObject *slot)
{
    if (!usable(self)) {
        return NULL;
    }
    Py_ssize_t k = PyLong_AsSsize_t(slot);
    if (k == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (k < 0 || k >= self->slots) {
        PyErr_Format(PyExc_IndexError, "slot %zd is outside the record (%zd slots)", k, self->slots);
        return NULL;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    self->current[k] = (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
    Py_RETURN_NONE;
}

static PyObject *
Ring_commit(Ring *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!usable(self)) {
        return NULL;
    }
    if (nargs > 1) {
        PyErr_SetString(PyExc_TypeError, "commit() takes at most one argument (slot 0's value)");
        return NULL;
    }
    if (nargs == 1) {
        double first = PyFloat_AsDouble(args[0]);
        if (first == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
        self->current[0] = first;
    }
    publish(self);
    Py_RETURN_NONE;
}

static PyObject *
Ring_record(Ring *self, PyObject *values)
{
    if (!usable(self)) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Size(values);
    if (n < 0) {
        return NULL;
    }
    if (n > self->slots) {
        PyErr_Format(PyExc_ValueError, "a record of %zd values does not fit in %zd slots", n, self->slots);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_GetItem(values, i);
        if (item == NULL) {
            return NULL;
        }
        double value = PyFloat_AsDouble(item);
        Py_DECREF(item);
        if (value == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
        self->current[i] = value;
    }
    publish(self);
    Py_RETURN_NONE;
}

static PyObject *
Ring_release(Ring *self, PyObject *Py_UNUSED(ignored))
{
    self->head = NULL;
    self->records = NULL;
    self->current = NULL;
    Py_RETURN_TRUE; /* nothing else can hold this memory through this object */
}

static int
Ring_init(Ring *self, PyObject *args, PyObject *kwargs)
{
    unsigned long long address;
    Py_ssize_t records, slots;
    if (kwargs != NULL && PyObject_Length(kwargs) > 0) {
        PyErr_SetString(PyExc_TypeError, "Ring(address, records, slots) takes no keyword arguments");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "Knn", &address, &records, &slots)) {
        return -1;
    }
    if (self->set_up) {
        PyErr_SetString(PyExc_TypeError, "the ring is already set up");
        return -1;
    }
    if (address == 0 || records <= 0 || (records & (records - 1)) != 0 || slots <= 0) {
        PyErr_SetString(PyExc_ValueError, "a ring needs an address, a power of two of records and at least one slot");
        return -1;
    }
    self->set_up = 1;
    self->head = (int64_t *)(uintptr_t)address;
    self->records = (double *)(self->head + 1);
    self->slots = slots;
    self->mask = records - 1;
    self->written = __atomic_load_n(self->head, __ATOMIC_ACQUIRE);
    self->current = self->records + (self->written & self->mask) * slots;
    return 0;
}

static PyMethodDef Ring_methods[] = {
    {"stamp", (PyCFunction)Ring_stamp, METH_O,
     "stamp(k): the clock (CLOCK_MONOTONIC, seconds) into slot k of the record being written."},
    {"commit", (PyCFunction)(void (*)(void))Ring_commit, METH_FASTCALL,
     "commit([first]): publish the record being written (slot 0 set to first, if given) and begin the next."},
    {"record", (PyCFunction)Ring_record, METH_O,
     "record(values): write a whole record from a sequence of numbers and publish it."},
    {"release", (PyCFunction)Ring_release, METH_NOARGS,
     "release(): forget the host's memory (later calls raise ValueError); True, the memory may be freed."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Ring_type_slots[] = {
    {Py_tp_doc, "Ring(address, records, slots): the records of a step-latency ring in memory the host owns."},
    {Py_tp_init, Ring_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_methods, Ring_methods},
    {0, NULL},
};

static PyType_Spec Ring_spec = {
    .name = "nrphost._stamp.Ring",
    .basicsize = sizeof(Ring),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = Ring_type_slots,
};

static int
stamp_exec(PyObject *module)
{
    PyObject *type = PyType_FromSpec(&Ring_spec);
    if (type == NULL) {
        return -1;
    }
    if (PyModule_AddObject(module, "Ring", type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot stamp_slots[] = {
    {Py_mod_exec, stamp_exec},
    {0, NULL},
};

static struct PyModuleDef stamp_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_stamp",
    .m_doc = "The step-latency profile's time stamps, written into the host's ring.",
    .m_size = 0,
    .m_slots = stamp_slots,
};

PyMODINIT_FUNC
PyInit__stamp(void)
{
    return PyModuleDef_Init(&stamp_module);
}
