"""RDU-style reconfigurable dataflow units (SN40L): fabric, fusion, serving.

Modules, one concept each, top-down:

* :mod:`~hwsim.rdu.fabric`: the socket and node as data (``templates/rdu/sn40l.yaml``);
* :mod:`~hwsim.rdu.planner`: partition a network into kernels (unfused / fused);
* (:mod:`hwsim.workload.kernels`: each kernel's FLOPs and bytes per tier, shared with the Monarch FFT accounting);
* :mod:`~hwsim.rdu.timing`: the three-tier roofline, launches, all-reduce;
* :mod:`~hwsim.rdu.execution`: a decoder phase and a generation on an RDU node or a DGX;
* :mod:`~hwsim.rdu.coe`: composition-of-experts serving in simpy and in closed form;
* :mod:`~hwsim.rdu.systems`: the SN40L node and the DGX A100/H100 baselines;
* :mod:`~hwsim.rdu.capacity`: experts per node and DGX nodes needed.

See docs/rdu.md.
"""
