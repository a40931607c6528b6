fn main() {
    print!("{}", outbound_operator::api::crds_yaml());
}
