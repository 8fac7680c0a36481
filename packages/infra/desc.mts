import { descendants } from "@asgard/infra";
console.log(descendants(Number(process.argv[2])).join(" "));
